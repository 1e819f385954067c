import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The same invariants, checked per statement instead of per row. Bulk intake writes about ten rows per load;
 * at 1,000 loads a request the row-level triggers (one to three queries per row) and the row-by-row loop of
 * ledger_apply_deltas were most of the database's time. Each check now runs once per statement over its
 * transition table, and ledger_apply_deltas computes every running balance with one window query.
 *
 * What changes for a hand-written transaction: an unbalanced or entry-less journal transaction is refused
 * by the statement that writes it, not at COMMIT. So a transaction and its entries must be written in one
 * statement (the ledger service does, with data-modifying CTEs, whose AFTER triggers all fire at the end of
 * the whole statement). Stricter, never looser: every state the old triggers refused is still refused.
 */
export class LedgerSetBased1764500000000 implements MigrationInterface {
  name = 'LedgerSetBased1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
-- Invariant 1: each journal transaction an INSERT touched has 2 to 100 entries, balances per currency,
-- and each entry's currency is its account's.
CREATE FUNCTION journal_entries_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  -- Every query here looks rows up by key, one per touched row: a join the planner is free to choose would
  -- scan the whole journal once per statement, and the journal only grows.
  SELECT k.transaction_id, s.n INTO bad
  FROM (SELECT DISTINCT transaction_id FROM new_entries) k
  CROSS JOIN LATERAL (
    SELECT sum(c.n) AS n, bool_or(c.net <> 0) AS unbalanced
    FROM (SELECT count(*) AS n, sum(CASE e.direction WHEN 'debit' THEN e.amount ELSE -e.amount END) AS net
          FROM journal_entries e WHERE e.transaction_id = k.transaction_id GROUP BY e.currency) c) s
  WHERE s.n < 2 OR s.n > 100 OR s.unbalanced LIMIT 1;
  IF FOUND AND bad.n < 2 THEN
    RAISE EXCEPTION 'journal transaction % has % entries; at least two are required', bad.transaction_id, bad.n
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  ELSIF FOUND AND bad.n > 100 THEN
    -- The ledger's bound (MAX_ENTRIES); readers fetch at most that many entries per transaction.
    RAISE EXCEPTION 'journal transaction % has % entries; at most 100 are allowed', bad.transaction_id, bad.n
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  ELSIF FOUND THEN
    RAISE EXCEPTION 'journal transaction % does not balance', bad.transaction_id
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  SELECT n.currency INTO bad FROM new_entries n
  WHERE (SELECT a.currency FROM accounts a WHERE a.id = n.account_id) IS DISTINCT FROM n.currency LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'entry currency % differs from its account', bad.currency
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_currency';
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER journal_entries_balanced ON journal_entries;
DROP FUNCTION journal_check_balanced();
CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_check_balanced();

-- A journal transaction never exists without its entries (written by the same statement).
CREATE FUNCTION journal_transactions_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad uuid;
BEGIN
  SELECT t.id INTO bad FROM new_transactions t
  WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_entries e WHERE e.transaction_id = t.id)) LIMIT 1; -- not an anti-join: a lookup per row
  IF FOUND THEN
    RAISE EXCEPTION 'journal transaction % has 0 entries; at least two are required', bad
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER journal_transactions_have_entries AFTER INSERT ON journal_transactions
  REFERENCING NEW TABLE AS new_transactions FOR EACH STATEMENT EXECUTE FUNCTION journal_transactions_check_entries();

-- The sealing queue keeps its transactions' created_at, so the sealer reads the oldest N by index instead
-- of walking the journal from its first transaction to find which are unsealed.
-- The default keeps instances still on the previous release writing during a rolling deploy (they insert the
-- transaction id alone); it only orders the queue, so "when enqueued" is as good as the transaction's own time.
ALTER TABLE journal_unsealed ADD COLUMN created_at timestamptz NOT NULL DEFAULT clock_timestamp();
UPDATE journal_unsealed u SET created_at = t.created_at FROM journal_transactions t WHERE t.id = u.transaction_id;
-- The content hash, taken by the writer in the transaction that wrote the journal rows: the sealer chains it
-- without reading the content back, and an edit made before sealing no longer goes unseen. Null (a row from
-- an instance on the previous release): the sealer reads the content and hashes it, as before.
ALTER TABLE journal_unsealed ADD COLUMN content_hash bytea CHECK (octet_length(content_hash) = 32);
CREATE INDEX journal_unsealed_order ON journal_unsealed (created_at, transaction_id);

-- Invariants 3 and 10: every new history row continues the previous one (seq + 1, running balances =
-- previous + movement), and an opening row (seq 0) is zero. Checked after the statement, so a statement
-- may append several consecutive rows of one account.
CREATE FUNCTION account_history_check_chain_set() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT n.account_id, n.seq INTO bad FROM new_rows n
  LEFT JOIN LATERAL (SELECT * FROM account_history h WHERE h.account_id = n.account_id AND h.seq = n.seq - 1 AND n.seq > 0 LIMIT 1) p
    ON true
  WHERE CASE WHEN n.seq = 0
    THEN n.pending_debits <> 0 OR n.pending_credits <> 0 OR n.posted_debits <> 0 OR n.posted_credits <> 0
    ELSE p.account_id IS NULL
      OR n.pending_debits  <> p.pending_debits  + n.d_pending_debits
      OR n.pending_credits <> p.pending_credits + n.d_pending_credits
      OR n.posted_debits   <> p.posted_debits   + n.d_posted_debits
      OR n.posted_credits  <> p.posted_credits  + n.d_posted_credits END
  LIMIT 1;
  IF FOUND AND bad.seq = 0 THEN
    RAISE EXCEPTION 'opening history row must be zero' USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
  ELSIF FOUND THEN
    RAISE EXCEPTION 'history row %/% does not continue the previous row', bad.account_id, bad.seq
      USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER account_history_chain ON account_history;
DROP FUNCTION account_history_check_chain();
CREATE TRIGGER account_history_chain AFTER INSERT ON account_history
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION account_history_check_chain_set();

-- Invariant 10: every account opens with a zero row at seq 0, written by the statement that creates it.
CREATE FUNCTION accounts_open_history_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO account_history (account_id, seq, event, at, pending_debits, pending_credits, posted_debits, posted_credits)
  SELECT id, 0, 'opening', created_at, 0, 0, 0, 0 FROM new_accounts ORDER BY id;
  RETURN NULL;
END $$;
DROP TRIGGER accounts_opening_row ON accounts;
DROP FUNCTION accounts_open_history();
CREATE TRIGGER accounts_opening_row AFTER INSERT ON accounts
  REFERENCING NEW TABLE AS new_accounts FOR EACH STATEMENT EXECUTE FUNCTION accounts_open_history_set();

-- Balance movement, set-based: element i moves account p_ids[i] for transaction p_txs[i] (ids ascending,
-- one account's moves in transfer order). Running balances and sequence numbers come from one window over
-- the moves; every intermediate state is held to the sign and noOverdraft rules, as the row loop did.
CREATE FUNCTION ledger_plan_moves(p_txs uuid[], p_events text[], p_loads uuid[], p_ids bigint[],
  p_pd bigint[], p_pc bigint[], p_sd bigint[], p_sc bigint[])
RETURNS TABLE (i bigint, tx uuid, ev text, load uuid, id bigint, pd bigint, pc bigint, sd bigint, sc bigint,
  seq bigint, npd bigint, npc bigint, nsd bigint, nsc bigint, is_last boolean, prev_id bigint,
  normal_side text, no_overdraft boolean, known boolean)
LANGUAGE sql STABLE AS $$
  SELECT m.i, m.tx, m.ev, m.load, m.id, m.pd, m.pc, m.sd, m.sc,
    (m.a).history_seq + row_number() OVER w,
    (m.a).pending_debits + sum(m.pd) OVER w, (m.a).pending_credits + sum(m.pc) OVER w,
    (m.a).posted_debits + sum(m.sd) OVER w, (m.a).posted_credits + sum(m.sc) OVER w,
    row_number() OVER w = count(*) OVER (PARTITION BY m.id),
    lag(m.id) OVER (ORDER BY m.i), (m.a).normal_side, (m.a).no_overdraft, (m.a).id IS NOT NULL
  -- A primary-key lookup per move, whatever the planner would guess for an array of unknown size.
  FROM (SELECT u.*, (SELECT a FROM accounts a WHERE a.id = u.id) AS a
        FROM unnest(p_txs, p_events, p_loads, p_ids, p_pd, p_pc, p_sd, p_sc) WITH ORDINALITY AS u(tx, ev, load, id, pd, pc, sd, sc, i)
        OFFSET 0) m -- not flattened: one lookup per move, not one per field read
  WINDOW w AS (PARTITION BY m.id ORDER BY m.i)
$$;

CREATE OR REPLACE FUNCTION ledger_apply_deltas(p_txs uuid[], p_events text[], p_loads uuid[], p_ids bigint[],
  p_pd bigint[], p_pc bigint[], p_sd bigint[], p_sc bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  moment timestamptz;
  bad record;
BEGIN
  -- Lock first, then read the clock: an account's history is then ordered the same by seq and by at.
  -- One primary-key lookup per account, in id order (id = ANY(p_ids) may scan every account instead).
  PERFORM 1 FROM (SELECT DISTINCT unnest(p_ids) AS id ORDER BY 1) k
    CROSS JOIN LATERAL (SELECT 1 FROM accounts a WHERE a.id = k.id FOR NO KEY UPDATE) l;
  moment := clock_timestamp();
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
  -- One statement: the history rows and each account's final state (the plan reads the pre-update rows).
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
    // The previous definitions live in migrations 1764000000000 and 1764100000000; re-running their
    // statements here would duplicate them, so down() is refused rather than half-done.
    throw new Error('LedgerSetBased1764500000000 cannot be reverted: restore from backup or roll forward');
  }
}
