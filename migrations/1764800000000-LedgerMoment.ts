import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One moment per ledger transaction, and a past that never changes (docs/time.md).
 *
 * - ledger_moment(): the transaction's moment, fixed at its first call, and the default of every time column a
 *   ledger transaction writes. The transaction first takes its xid (so readers can see it is in flight), then
 *   reads the clock, rounded down to the millisecond (every stored moment is then exactly what the API prints).
 *   ledger_begin_moment() takes the transaction's turn on the accounts it moves before fixing it: an account's
 *   history then reads the same by seq and by time.
 * - ledger_watermark(): rows with a time before it are final: every transaction that could still commit
 *   started at or after it (the oldest in-flight writer's start, or the clock when there is none).
 *   ledger_await_final(): waits, a bounded time, until a cut is before the watermark.
 *
 * Works on a populated ledger: only defaults and functions change; rows already written keep their times.
 */
export class LedgerMoment1764800000000 implements MigrationInterface {
  name = 'LedgerMoment1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE FUNCTION ledger_moment() RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  fixed text := current_setting('card_ledger.moment', true);
  m timestamptz;
BEGIN
  IF fixed IS NOT NULL AND fixed <> '' THEN
    RETURN timestamptz 'epoch' + fixed::bigint * interval '1 millisecond';
  END IF;
  -- In flight first, clock second: a reader that sees no writer knows any later moment is later than its look.
  PERFORM pg_current_xact_id();
  m := date_trunc('milliseconds', clock_timestamp());
  PERFORM set_config('card_ledger.moment', (extract(epoch FROM m) * 1000)::bigint::text, true);
  RETURN m;
END $$;

-- A writer's turn on accounts: one transaction-scoped advisory lock per account, taken in key order (no
-- deadlock). Unlike a row lock it needs no xid, so a writer queued behind another is not "in flight" for readers
-- (ledger_watermark): only the one holding the turn is. Row locks (ledger_apply_deltas) still follow; among
-- writers that took their turn first they never wait.
CREATE FUNCTION ledger_lock_accounts(p_ids bigint[]) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  k int;
BEGIN
  FOR k IN SELECT DISTINCT (id % 2147483647)::int FROM unnest(p_ids) AS id ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(176480, k);
  END LOOP;
END $$;

-- Takes the turn on the given accounts and fixes the moment after it; card_ledger.moment_after_locks says so,
-- for ledger_apply_deltas.
CREATE FUNCTION ledger_begin_moment(p_ids bigint[]) RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  fixed text := current_setting('card_ledger.moment', true);
BEGIN
  PERFORM ledger_lock_accounts(p_ids);
  IF fixed IS NULL OR fixed = '' THEN
    PERFORM set_config('card_ledger.moment_after_locks', 'on', true);
  END IF;
  RETURN ledger_moment();
END $$;

-- The clock is read before the look at the in-flight transactions: a transaction that takes its xid after the
-- look reads the clock after it too. Another role's transactions show no start (without pg_read_all_stats):
-- they count as "since ever", so a read waits for them to end rather than trust what it cannot see.
CREATE FUNCTION ledger_watermark() RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  oldest timestamptz;
BEGIN
  PERFORM pg_stat_clear_snapshot();
  SELECT min(coalesce(a.xact_start, '-infinity')) INTO oldest FROM pg_stat_activity a
  WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
    AND coalesce(a.backend_type, 'client backend') = 'client backend';
  RETURN date_trunc('milliseconds', least(t0, oldest));
END $$;

-- Everything with a time <= cut is final once cut < watermark; waits up to p_wait_ms for that. p_at NULL: the
-- cut is now (at millisecond precision); a cut more than p_horizon_ms ahead is not known yet: the cut becomes now.
CREATE FUNCTION ledger_await_final(p_at timestamptz, p_wait_ms int, p_horizon_ms int,
  OUT cut timestamptz, OUT watermark timestamptz) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
BEGIN
  cut := p_at;
  IF cut IS NULL OR cut > t0 + p_horizon_ms * interval '1 millisecond' THEN
    cut := date_trunc('milliseconds', t0);
  END IF;
  LOOP
    watermark := ledger_watermark();
    EXIT WHEN watermark > cut OR clock_timestamp() >= t0 + p_wait_ms * interval '1 millisecond';
    PERFORM pg_sleep(0.0005);
  END LOOP;
END $$;

ALTER TABLE accounts ALTER COLUMN created_at SET DEFAULT ledger_moment();
ALTER TABLE journal_transactions ALTER COLUMN created_at SET DEFAULT ledger_moment();
ALTER TABLE journal_entries ALTER COLUMN created_at SET DEFAULT ledger_moment();
ALTER TABLE journal_unsealed ALTER COLUMN created_at SET DEFAULT ledger_moment();
ALTER TABLE account_history ALTER COLUMN at SET DEFAULT ledger_moment();
ALTER TABLE card_loads ALTER COLUMN created_at SET DEFAULT ledger_moment();
ALTER TABLE card_loads ALTER COLUMN updated_at SET DEFAULT ledger_moment();
ALTER TABLE load_events ALTER COLUMN at SET DEFAULT ledger_moment();
ALTER TABLE reconciliation_findings ALTER COLUMN found_at SET DEFAULT ledger_moment();
-- A settlement's webhook event is created at the settlement's moment (its createdAt equals the load's postedAt).
ALTER TABLE webhook_deliveries ALTER COLUMN created_at SET DEFAULT ledger_moment();

-- Every change of a load is stamped with its transaction's moment, whoever writes it.
CREATE FUNCTION card_loads_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := ledger_moment();
  RETURN NEW;
END $$;
CREATE TRIGGER card_loads_touch BEFORE UPDATE ON card_loads FOR EACH ROW EXECUTE FUNCTION card_loads_touch();

-- The history rows carry the transaction's moment. An account's history must never go back in time:
-- - a writer that fixed its moment after its locks (ledger_begin_moment) can only meet a later row on an account
--   another transaction created meanwhile: refused as a serialization failure, and on the retry that account
--   exists and is locked before the moment is taken;
-- - a writer that wrote rows before locking (an instance of the previous release during a rolling deploy) gets
--   history rows at the account's last time instead, as its clock read after the lock used to give.
CREATE OR REPLACE FUNCTION ledger_apply_deltas(p_txs uuid[], p_events text[], p_loads uuid[], p_ids bigint[],
  p_pd bigint[], p_pc bigint[], p_sd bigint[], p_sc bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  moment timestamptz;
  latest timestamptz;
  bad record;
BEGIN
  PERFORM ledger_lock_accounts(p_ids);
  PERFORM 1 FROM (SELECT DISTINCT unnest(p_ids) AS id ORDER BY 1) k
    CROSS JOIN LATERAL (SELECT 1 FROM accounts a WHERE a.id = k.id FOR NO KEY UPDATE) l;
  moment := ledger_moment();
  SELECT max(h.at) INTO latest FROM (SELECT DISTINCT unnest(p_ids) AS id) k
    CROSS JOIN LATERAL (SELECT h.at FROM accounts a JOIN account_history h ON h.account_id = a.id AND h.seq = a.history_seq
                        WHERE a.id = k.id) h;
  IF latest > moment THEN
    IF current_setting('card_ledger.moment_after_locks', true) = 'on' THEN
      RAISE EXCEPTION 'ledger moment % precedes the last change (%) of an account it moves; retry the transaction', moment, latest
        USING ERRCODE = '40001';
    END IF;
    moment := latest;
  END IF;
  SELECT * INTO bad FROM ledger_plan_moves(p_txs, p_events, p_loads, p_ids, p_pd, p_pc, p_sd, p_sc) p
  WHERE p.id < p.prev_id OR NOT p.known OR p.npd < 0 OR p.npc < 0 OR p.nsd < 0 OR p.nsc < 0
    OR (p.no_overdraft AND CASE p.normal_side WHEN 'credit' THEN p.nsc - p.nsd - p.npd ELSE p.nsd - p.nsc - p.npc END < 0)
  ORDER BY p.i LIMIT 1;
  IF FOUND THEN
    IF bad.id < bad.prev_id THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account ids must be ascending' USING ERRCODE = 'P0001';
    ELSIF NOT bad.known THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account % does not exist', bad.id USING ERRCODE = 'P0001';
    ELSIF bad.npd < 0 OR bad.npc < 0 OR bad.nsd < 0 OR bad.nsc < 0 THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account % would have a negative sum', bad.id USING ERRCODE = 'P0001';
    END IF;
    RAISE EXCEPTION 'new row for relation "accounts" violates check constraint "accounts_no_overdraft"'
      USING ERRCODE = '23514', CONSTRAINT = 'accounts_no_overdraft', TABLE = 'accounts';
  END IF;
  WITH p AS MATERIALIZED (SELECT * FROM ledger_plan_moves(p_txs, p_events, p_loads, p_ids, p_pd, p_pc, p_sd, p_sc)),
  h AS (
    INSERT INTO account_history (account_id, seq, transaction_id, event, load_id, at,
      d_pending_debits, d_pending_credits, d_posted_debits, d_posted_credits,
      pending_debits, pending_credits, posted_debits, posted_credits)
    SELECT p.id, p.seq, p.tx, p.ev, p.load, moment, p.pd, p.pc, p.sd, p.sc, p.npd, p.npc, p.nsd, p.nsc FROM p ORDER BY p.id, p.seq)
  UPDATE accounts a SET pending_debits = p.npd, pending_credits = p.npc, posted_debits = p.nsd, posted_credits = p.nsc,
    history_seq = p.seq
  FROM p WHERE p.id = a.id AND p.is_last;
END $$;
`);
  }

  async down(q: QueryRunner): Promise<void> {
    // ledger_apply_deltas' previous body lives in 1764500000000; restoring it here would duplicate it.
    throw new Error('LedgerMoment1764800000000 cannot be reverted: restore from backup or roll forward');
  }
}
