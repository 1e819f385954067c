import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A settlement batch's locks and writes in two calls instead of seven (docs/design.md "Settlement in two calls",
 * issue 17). The batch holds the parent account's turn from its moment to COMMIT, so every round trip inside it is
 * time no other settlement or intake on that parent can use. Same statements, same order, same locks as before,
 * moved inside the database:
 *
 * settlement_lock(loads): the turn on every account the loads' pending transfers move and the moment after it
 * (ledger_begin_moment, docs/time.md); then the loads' outbox jobs, then the loads themselves, each locked in load
 * id order (jobs before loads, as every other writer of both does). It returns each load with its job's raw
 * columns (has_job false when it has none); the caller judges who may still settle (sync-jobs.store.ts).
 *
 * card_loads_settle(attempts…, resolutions…, statuses…): the attempts of the claims that still held their jobs
 * (their events and counts), phase two of each load's pending transfer (ledger_resolve_pending, unchanged: it
 * refuses a second resolution with journal_transactions_resolves_once before any balance moves), the loads' final
 * statuses with their 'settled' events at the transaction's moment, and the end of their outbox jobs. It returns
 * what ledger_resolve_pending returns; the caller writes the content hashes.
 *
 * Lookups are one index probe per key (LATERAL … LIMIT, or `= ANY` beside a join): with stale statistics a join
 * alone would let a generic plan scan the whole table (see 1765210000000). `#variable_conflict use_column`: the
 * result columns are also plpgsql variables; in every statement here a bare name means the table's column. Nothing
 * existing changes.
 */
export class SettlementInTwoCalls1765220000000 implements MigrationInterface {
  name = 'SettlementInTwoCalls1765220000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION settlement_lock(p_loads uuid[])
      RETURNS TABLE (id uuid, status text, journal_transaction_id uuid, undone_at timestamptz, has_job boolean,
                     claim_token bigint, lease_owner text, lease_expires_at timestamptz, due_at timestamptz,
                     lookup_after timestamptz, late_success_at timestamptz)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      DECLARE
        ids uuid[] := ARRAY(SELECT DISTINCT k FROM unnest(p_loads) AS k ORDER BY 1);
      BEGIN
        PERFORM ledger_begin_moment(ARRAY(
          SELECT e.account_id FROM unnest(ids) AS q(id)
          CROSS JOIN LATERAL (SELECT l.journal_transaction_id FROM card_loads l WHERE l.id = q.id LIMIT 1) l
          CROSS JOIN LATERAL (SELECT x.account_id FROM journal_entries x WHERE x.transaction_id = l.journal_transaction_id
                              LIMIT 100) e));
        PERFORM 1 FROM unnest(ids) WITH ORDINALITY AS q(id, i)
          CROSS JOIN LATERAL (SELECT 1 FROM sync_jobs j WHERE j.load_id = q.id FOR UPDATE) j;
        PERFORM 1 FROM unnest(ids) WITH ORDINALITY AS q(id, i)
          CROSS JOIN LATERAL (SELECT 1 FROM card_loads l WHERE l.id = q.id FOR UPDATE) l;
        RETURN QUERY
          SELECT l.id, l.status, l.journal_transaction_id, l.undone_at, j.load_id IS NOT NULL, j.claim_token, j.lease_owner,
                 j.lease_expires_at, j.due_at, j.lookup_after, j.late_success_at
          FROM unnest(ids) WITH ORDINALITY AS q(id, i)
          CROSS JOIN LATERAL (SELECT * FROM card_loads l WHERE l.id = q.id LIMIT 1) l
          LEFT JOIN LATERAL (SELECT * FROM sync_jobs j WHERE j.load_id = q.id LIMIT 1) j ON true
          ORDER BY q.i;
      END $$`);
    await q.query(`
      CREATE FUNCTION card_loads_settle(
        a_loads uuid[], a_types text[], a_outcomes text[], a_http int[], a_codes text[], a_messages text[], a_ms int[], a_requests text[],
        p_pending uuid[], p_kinds text[], p_events text[], p_loads uuid[], p_ids uuid[],
        s_statuses text[], s_reasons text[], s_actors text[], s_requests text[])
      RETURNS TABLE (id uuid, pending_id uuid, kind text, description text, created_at timestamptz, created_at_utc text,
                     codes text[], directions text[], amounts text[], currencies text[])
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      BEGIN
        WITH x AS (SELECT * FROM unnest(a_loads, a_types, a_outcomes, a_http, a_codes, a_messages, a_ms, a_requests)
                   AS x(load_id, type, outcome, http_status, code, message, duration_ms, request_id)),
             ev AS (INSERT INTO load_events (load_id, type, outcome, http_status, code, message, duration_ms, actor, request_id)
                    SELECT load_id, type, outcome, http_status, code, message, duration_ms, 'sync-worker', request_id FROM x)
        UPDATE card_loads l SET attempts = l.attempts + n.count, updated_at = clock_timestamp()
        FROM (SELECT load_id, count(*)::int AS count FROM x GROUP BY load_id) n WHERE l.id = n.load_id AND l.id = ANY(a_loads);

        RETURN QUERY SELECT * FROM ledger_resolve_pending(p_pending, p_kinds, p_events, p_loads, p_ids);

        WITH x AS (SELECT * FROM unnest(p_loads, s_statuses, s_reasons, s_actors, s_requests) AS x(id, status, reason, actor, request_id)),
             ev AS (INSERT INTO load_events (load_id, type, outcome, message, actor, request_id)
                    SELECT x.id, 'settled', x.status, x.reason, x.actor, x.request_id FROM x)
        UPDATE card_loads l SET status = x.status, status_reason = x.reason, updated_at = ledger_moment(),
          posted_at = CASE WHEN x.status = 'posted' THEN ledger_moment() END,
          reversed_at = CASE WHEN x.status = 'reversed' THEN ledger_moment() END
        FROM x WHERE l.id = x.id AND l.id = ANY(p_loads);

        DELETE FROM sync_jobs j WHERE j.load_id = ANY(p_loads);
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION card_loads_settle(uuid[], text[], text[], int[], text[], text[], int[], text[],
      uuid[], text[], text[], uuid[], uuid[], text[], text[], text[], text[])`);
    await q.query(`DROP FUNCTION settlement_lock(uuid[])`);
  }
}
