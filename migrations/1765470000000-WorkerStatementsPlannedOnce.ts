import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sync worker's three most frequent statements become functions whose plans are kept per connection (docs/design.md
 * "The worker's statements planned once", issue 17): the claim, the fences before each EnKash exchange, and the
 * webhook subscriptions that hear a settlement. Sent as SQL, Postgres parsed, analysed and planned each of them on
 * every call (an unnamed statement), and planning cost more than running them: 330 µs a call for the fences against
 * 270 µs of execution, 380 µs for the claim, 285 µs for the subscriptions against 25 µs, in all about 200 µs of
 * Postgres CPU per settled load. A PL/pgSQL function keeps each statement's plan for the connection's life, which
 * named prepared statements would too, but those do not survive pgbouncer in transaction mode (docs/operations.md).
 * `force_generic_plan`: one plan from the first call, whatever the size of its arrays (as the write path's functions,
 * migration 1765420000000). The statements are the ones the code sent, but for the parameters' names and the fences'
 * `gate` CTE, now `g` (`gate` is an output column).
 *
 * FORK and FORKED_SINCE, as the code had them: the last fork of the database as one row even without an identity
 * row (its mark, and the moment before which no lookup may be believed), and a job that existed at that fork and has
 * not been claimed since (docs/design.md, "A database that is a copy").
 */
const FORK = `fork AS (SELECT coalesce(max(fork_mark), 0) AS mark, max(fork_lookup_after) AS lookup_after
  FROM database_identity WHERE id = 1)`;
const FORKED_SINCE = `coalesce(j.fork_mark, 0) < fork.mark`;

/**
 * One generic plan per statement, and neither hash or merge joins nor sequential scans: a generic plan guesses its
 * arrays' and LIMIT's sizes, and keeps what the tables looked like at the connection's first call. The claim's first
 * generic plan hashed a sequential scan of sync_jobs to join the 32 jobs it had claimed (1.2 ms a call at 5,000 jobs,
 * and growing with the outbox), and on a database never analyzed it joined card_loads by a sequential scan. Each row
 * is reached by its key, as in the write path's functions (test/sync/worker-plans.spec.ts). JIT off: a plan that
 * needs what a setting turned off costs 10^10, and would be compiled on every call.
 */
const SETTINGS = `LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_hashjoin = off SET enable_mergejoin = off
  SET enable_seqscan = off SET jit = off`;

/** SyncJobsStore.claim: due jobs whose lease is free or expired, each with a fresh fencing token, marked "a send may happen". */
const CLAIM = `
CREATE FUNCTION sync_jobs_claim(p_owner text, p_limit int, p_lease_ms float8, p_grace_ms float8, p_confirm_ms float8)
  RETURNS TABLE(load_id uuid, token text, late_success boolean, attempts int, unknown_seen boolean, pending_rejection text,
    was_lookup boolean, lookup_ready boolean, lookup_after_ms float8, budget_age_ms float8, rejection_confirmable boolean,
    reference text, en_kash_card_id text, company_id text, card_account_id text, amount bigint, description text,
    remarks text, status text, request_id text)
  ${SETTINGS} AS $$
  #variable_conflict use_column
  BEGIN
    RETURN QUERY WITH ${FORK}, due AS (
       SELECT j.load_id, j.needs_lookup OR ${FORKED_SINCE} AS was_lookup,
         CASE WHEN ${FORKED_SINCE} THEN greatest(j.lookup_after, fork.lookup_after) ELSE j.lookup_after END AS was_lookup_after,
         fork.mark
       FROM sync_jobs j, fork
       WHERE j.due_at <= clock_timestamp() AND (j.lease_expires_at IS NULL OR j.lease_expires_at < clock_timestamp())
       ORDER BY j.due_at
       LIMIT p_limit
       FOR UPDATE OF j SKIP LOCKED)
     UPDATE sync_jobs j
     SET lease_owner = p_owner, lease_expires_at = clock_timestamp() + make_interval(secs => p_lease_ms / 1000),
         claim_token = nextval('sync_claim_tokens'),
         needs_lookup = true,
         lookup_after = CASE WHEN due.was_lookup THEN due.was_lookup_after
                             ELSE clock_timestamp() + make_interval(secs => (p_lease_ms + p_grace_ms) / 1000) END,
         fork_mark = greatest(j.fork_mark, due.mark),
         updated_at = clock_timestamp()
     FROM due, card_loads l
     WHERE j.load_id = due.load_id AND l.id = j.load_id
     RETURNING j.load_id, j.claim_token::text, j.late_success_at IS NOT NULL, j.attempts, j.unknown_seen,
       j.pending_rejection, due.was_lookup,
       (due.was_lookup_after IS NULL OR due.was_lookup_after <= clock_timestamp()),
       greatest(0, extract(epoch FROM (coalesce(due.was_lookup_after, clock_timestamp()) - clock_timestamp())) * 1000)::float8,
       (extract(epoch FROM clock_timestamp() - j.budget_started_at) * 1000)::float8,
       (j.first_unknown_at IS NULL OR j.first_unknown_at <= clock_timestamp() - make_interval(secs => p_confirm_ms / 1000)),
       l.reference, l.en_kash_card_id, l.company_id, l.card_account_id, l.amount, l.description, l.remarks, l.status, l.request_id;
  END $$`;

/**
 * SyncJobsStore.writeFences: the fences of every exchange about to start, each answered for its own item (x.i). A
 * claim taken before the last fork was handled (its job still below the mark) may neither send nor look up: its gate
 * is 'forked'. A send also needs the database's gate (ledger_send_gate).
 */
const FENCE = `
CREATE FUNCTION sync_jobs_fence(p_loads uuid[], p_tokens bigint[], p_owners text[], p_lease_ms float8[], p_grace_ms float8[])
  RETURNS TABLE(gate text, held boolean, late_success boolean)
  ${SETTINGS} AS $$
  #variable_conflict use_column
  BEGIN
    RETURN QUERY WITH x AS (SELECT * FROM unnest(p_loads, p_tokens, p_owners, p_lease_ms, p_grace_ms) WITH ORDINALITY
                AS x(load_id, token, owner, lease_ms, grace_ms, i)),
     ${FORK},
     g AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM x WHERE x.grace_ms IS NOT NULL) THEN ledger_send_gate() ELSE 'open' END AS g),
     fenced AS (
       UPDATE sync_jobs j SET lease_expires_at = clock_timestamp() + make_interval(secs => x.lease_ms / 1000),
         lookup_after = CASE WHEN x.grace_ms IS NULL THEN j.lookup_after
           ELSE greatest(j.lookup_after, clock_timestamp() + make_interval(secs => (x.lease_ms + x.grace_ms) / 1000)) END,
         updated_at = clock_timestamp()
       FROM x, fork WHERE j.load_id = x.load_id AND j.load_id = ANY(p_loads) AND j.claim_token = x.token AND j.lease_owner = x.owner
         AND (x.grace_ms IS NULL OR (SELECT g.g FROM g) = 'open') AND NOT ${FORKED_SINCE}
       RETURNING x.i, j.late_success_at IS NOT NULL AS late_success)
     SELECT CASE WHEN x.grace_ms IS NOT NULL AND (SELECT g.g FROM g) <> 'open' THEN (SELECT g.g FROM g)
                 WHEN f.i IS NULL AND (SELECT ${FORKED_SINCE} FROM sync_jobs j, fork WHERE j.load_id = x.load_id) THEN 'forked'
                 ELSE 'open' END,
       f.i IS NOT NULL, coalesce(f.late_success, false)
     FROM x LEFT JOIN fenced f ON f.i = x.i ORDER BY x.i;
  END $$`;

/**
 * WebhookDeliveriesStore.matchSubscriptions: the active subscriptions of unrevoked keys that hear these (load, event)
 * pairs, FOR SHARE (a concurrent DELETE waits for the settlement's commit).
 */
const SUBSCRIPTIONS = `
CREATE FUNCTION webhook_subscriptions_hearing(p_loads uuid[], p_events text[])
  RETURNS TABLE(load_id uuid, event text, subscription_id uuid)
  ${SETTINGS} AS $$
  #variable_conflict use_column
  BEGIN
    RETURN QUERY SELECT x.load_id, x.event, s.id
     FROM unnest(p_loads, p_events) WITH ORDINALITY AS x(load_id, event, ord)
     JOIN card_loads l ON l.id = x.load_id
     JOIN webhook_subscriptions s ON s.deleted_at IS NULL AND x.event = ANY (s.events) AND (s.all_loads OR s.api_key_id = l.api_key_id)
     JOIN api_keys k ON k.id = s.api_key_id AND k.revoked_at IS NULL
     ORDER BY x.ord, s.id
     FOR SHARE OF s;
  END $$`;

export class WorkerStatementsPlannedOnce1765470000000 implements MigrationInterface {
  name = 'WorkerStatementsPlannedOnce1765470000000';

  async up(q: QueryRunner): Promise<void> {
    for (const ddl of [CLAIM, FENCE, SUBSCRIPTIONS]) await q.query(ddl);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION webhook_subscriptions_hearing(uuid[], text[])`);
    await q.query(`DROP FUNCTION sync_jobs_fence(uuid[], bigint[], text[], float8[], float8[])`);
    await q.query(`DROP FUNCTION sync_jobs_claim(text, int, float8, float8, float8)`);
  }
}
