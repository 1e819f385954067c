import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Phase two of two-phase transfers in one call (docs/design.md "Intake in one call", issue 17): settlement held
 * the parent account's turn across four round trips of the ledger (read the pending entries, take the turn, write
 * the journal, move the balances); ledger_resolve_pending() runs them inside the database, in the same order:
 *   1. every id must be a pending transfer (SQLSTATE P0001 otherwise: a caller's bug, never a user's input);
 *   2. the turn on the accounts its entries move and the transaction's moment (ledger_begin_moment, docs/time.md);
 *   3. the resolving transactions (post_pending or void_pending, the pending one's description), a copy of its
 *      entries in their order, and their sealing-queue rows: the unique index on pending_id refuses a second
 *      resolution here, before any balance moves (journal_transactions_resolves_once, 23505);
 *   4. balances and history (ledger_apply_deltas): a void releases the pending amounts, a post releases them
 *      and adds them to the posted ones; moves in account id order, each account's in the order given.
 * It returns each new transaction with what its content hash is computed from (journal-seal.ts); the caller
 * writes the hashes. Entries are read by one index lookup per pending transfer (LATERAL … LIMIT, at most
 * MAX_ENTRIES = 100 per transfer) and account codes by one key lookup per entry: a join lets a generic plan scan
 * the whole journal or every account. No ORDER BY inside those lookups: without statistics the planner would walk the
 * journal's primary key to honour it; the insert orders the entries (item, then entry id). Rows come back in the
 * order of the items. Nothing existing
 * changes: the function is new.
 */
export class ResolvePendingInOneCall1765210000000 implements MigrationInterface {
  name = 'ResolvePendingInOneCall1765210000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION ledger_resolve_pending(p_pending uuid[], p_kinds text[], p_events text[], p_loads uuid[], p_ids uuid[])
      RETURNS TABLE (id uuid, pending_id uuid, kind text, description text, created_at timestamptz, created_at_utc text,
                     codes text[], directions text[], amounts text[], currencies text[])
      LANGUAGE plpgsql AS $$
      DECLARE
        bad uuid;
      BEGIN
        SELECT p.id INTO bad FROM unnest(p_pending) AS p(id)
        WHERE NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = p.id AND t.kind = 'pending') LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'ledger_resolve_pending: % is not a pending transfer', bad USING ERRCODE = 'P0001';
        END IF;
        PERFORM ledger_begin_moment(ARRAY(
          SELECT DISTINCT e.account_id FROM unnest(p_pending) AS p(id)
          CROSS JOIN LATERAL (SELECT account_id FROM journal_entries WHERE transaction_id = p.id LIMIT 100) e));

        RETURN QUERY WITH x AS (SELECT * FROM unnest(p_pending, p_kinds, p_ids) WITH ORDINALITY AS x(pending, kind, id, i)),
          t AS (INSERT INTO journal_transactions (id, kind, pending_id, description)
                SELECT x.id, x.kind, x.pending, (SELECT p.description FROM journal_transactions p WHERE p.id = x.pending)
                FROM x ORDER BY x.i
                RETURNING journal_transactions.id, journal_transactions.pending_id, journal_transactions.kind,
                          journal_transactions.description, journal_transactions.created_at),
          e AS (INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
                SELECT x.id, pe.account_id, pe.direction, pe.amount, pe.currency
                FROM x CROSS JOIN LATERAL (SELECT * FROM journal_entries WHERE transaction_id = x.pending LIMIT 100) pe
                WHERE EXISTS (SELECT 1 FROM t WHERE t.id = x.id)
                ORDER BY x.i, pe.id
                RETURNING journal_entries.id AS entry, journal_entries.transaction_id, journal_entries.account_id,
                          journal_entries.direction, journal_entries.amount, journal_entries.currency),
          u AS (INSERT INTO journal_unsealed (transaction_id, created_at) SELECT t.id, t.created_at FROM t)
        SELECT t.id, t.pending_id, t.kind, t.description, t.created_at,
               to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               g.codes, g.directions, g.amounts, g.currencies
        FROM t JOIN x ON x.id = t.id JOIN (SELECT e.transaction_id, array_agg((SELECT a.code FROM accounts a WHERE a.id = e.account_id) ORDER BY e.entry) AS codes,
                            array_agg(e.direction ORDER BY e.entry) AS directions,
                            array_agg(e.amount::text ORDER BY e.entry) AS amounts, array_agg(e.currency::text ORDER BY e.entry) AS currencies
                     FROM e GROUP BY e.transaction_id) g ON g.transaction_id = t.id
        ORDER BY x.i;

        PERFORM ledger_apply_deltas(array_agg(m.tx ORDER BY m.account_id, m.i), array_agg(m.ev ORDER BY m.account_id, m.i),
          array_agg(m.load ORDER BY m.account_id, m.i), array_agg(m.account_id ORDER BY m.account_id, m.i),
          array_agg(m.pd ORDER BY m.account_id, m.i), array_agg(m.pc ORDER BY m.account_id, m.i),
          array_agg(m.sd ORDER BY m.account_id, m.i), array_agg(m.sc ORDER BY m.account_id, m.i))
        FROM (SELECT x.i, x.id AS tx, x.ev, x.load, pe.account_id,
                     coalesce(-sum(pe.amount) FILTER (WHERE pe.direction = 'debit'), 0)::bigint AS pd,
                     coalesce(-sum(pe.amount) FILTER (WHERE pe.direction = 'credit'), 0)::bigint AS pc,
                     (CASE WHEN x.kind = 'post_pending' THEN coalesce(sum(pe.amount) FILTER (WHERE pe.direction = 'debit'), 0) ELSE 0 END)::bigint AS sd,
                     (CASE WHEN x.kind = 'post_pending' THEN coalesce(sum(pe.amount) FILTER (WHERE pe.direction = 'credit'), 0) ELSE 0 END)::bigint AS sc
              FROM unnest(p_pending, p_kinds, p_events, p_loads, p_ids) WITH ORDINALITY AS x(pending, kind, ev, load, id, i)
              CROSS JOIN LATERAL (SELECT * FROM journal_entries WHERE transaction_id = x.pending LIMIT 100) pe
              GROUP BY x.i, x.id, x.ev, x.load, x.kind, pe.account_id) m;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION ledger_resolve_pending(uuid[], text[], text[], uuid[], uuid[])`);
  }
}
