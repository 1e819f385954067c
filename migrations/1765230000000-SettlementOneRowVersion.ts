import { MigrationInterface, QueryRunner } from 'typeorm';
import { SettlementInTwoCalls1765220000000 } from './1765220000000-SettlementInTwoCalls';

/**
 * A settled load's row written once, not twice (docs/design.md "Settlement in two calls", issue 17).
 * card_loads_settle used to count the batch's attempts on each load (one UPDATE) and then write the final
 * statuses (a second UPDATE of the same rows). A card_loads page is full after intake, so neither update stays
 * HOT: each wrote a whole new row version, an entry in every index of card_loads, and ran the row triggers
 * (card_loads_guard, card_loads_touch). Now one UPDATE writes the attempts and the status together, and one
 * INSERT writes the attempt events and then the 'settled' events, in that order, as before.
 *
 * What stays the same: phase two of the transfers (ledger_resolve_pending) runs before the statuses, so a second
 * resolution is refused (journal_transactions_resolves_once) before any load is marked; every load is already
 * locked (settlement_lock); updated_at is the transaction's moment either way (card_loads_touch); a load with
 * attempts but no status (a failed send that stays pending) keeps its status, reason and settlement times; the
 * end of the outbox jobs. The signature does not change, so the caller (sync-jobs.store.ts) does not either.
 */
export class SettlementOneRowVersion1765230000000 implements MigrationInterface {
  name = 'SettlementOneRowVersion1765230000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION card_loads_settle(
        a_loads uuid[], a_types text[], a_outcomes text[], a_http int[], a_codes text[], a_messages text[], a_ms int[], a_requests text[],
        p_pending uuid[], p_kinds text[], p_events text[], p_loads uuid[], p_ids uuid[],
        s_statuses text[], s_reasons text[], s_actors text[], s_requests text[])
      RETURNS TABLE (id uuid, pending_id uuid, kind text, description text, created_at timestamptz, created_at_utc text,
                     codes text[], directions text[], amounts text[], currencies text[])
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      BEGIN
        RETURN QUERY SELECT * FROM ledger_resolve_pending(p_pending, p_kinds, p_events, p_loads, p_ids);

        WITH a AS (SELECT * FROM unnest(a_loads, a_types, a_outcomes, a_http, a_codes, a_messages, a_ms, a_requests)
                   WITH ORDINALITY AS a(load_id, type, outcome, http_status, code, message, duration_ms, request_id, i)),
             s AS (SELECT * FROM unnest(p_loads, s_statuses, s_reasons, s_actors, s_requests)
                   WITH ORDINALITY AS s(load_id, status, reason, actor, request_id, i)),
             ev AS (INSERT INTO load_events (load_id, type, outcome, http_status, code, message, duration_ms, actor, request_id)
                    SELECT e.load_id, e.type, e.outcome, e.http_status, e.code, e.message, e.duration_ms, e.actor, e.request_id
                    FROM (SELECT a.load_id, a.type, a.outcome, a.http_status, a.code, a.message, a.duration_ms,
                                 'sync-worker' AS actor, a.request_id, 1 AS part, a.i FROM a
                          UNION ALL
                          SELECT s.load_id, 'settled', s.status, NULL, NULL, s.reason, NULL, s.actor, s.request_id, 2, s.i FROM s) e
                    ORDER BY e.part, e.i),
             n AS (SELECT a.load_id, count(*)::int AS count FROM a GROUP BY a.load_id),
             c AS (SELECT coalesce(s.load_id, n.load_id) AS load_id, coalesce(n.count, 0) AS count, s.status, s.reason
                   FROM n FULL JOIN s ON s.load_id = n.load_id)
        UPDATE card_loads l SET attempts = l.attempts + c.count, updated_at = ledger_moment(),
          status = coalesce(c.status, l.status),
          status_reason = CASE WHEN c.status IS NULL THEN l.status_reason ELSE c.reason END,
          posted_at = CASE WHEN c.status IS NULL THEN l.posted_at WHEN c.status = 'posted' THEN ledger_moment() END,
          reversed_at = CASE WHEN c.status IS NULL THEN l.reversed_at WHEN c.status = 'reversed' THEN ledger_moment() END
        FROM c WHERE l.id = c.load_id AND l.id = ANY(a_loads || p_loads);

        DELETE FROM sync_jobs j WHERE j.load_id = ANY(p_loads);
      END $$`);
  }

  /** Back to the two updates: the previous migration's definitions, recreated by that migration itself. */
  async down(q: QueryRunner): Promise<void> {
    const previous = new SettlementInTwoCalls1765220000000();
    await previous.down(q);
    await previous.up(q);
  }
}
