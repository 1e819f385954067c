import { MigrationInterface, QueryRunner } from 'typeorm';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * The write path's functions plan their statements once per connection, not once per call (docs/design.md "Plans
 * made once per connection", issue 17).
 *
 * A PL/pgSQL statement with parameters is planned for the values of its first five calls ("custom" plans); after
 * that Postgres keeps one plan for every value (the "generic" plan) only if its estimated cost is not above the
 * custom plans' average. Our parameters are arrays, one element per load or per move. A custom plan sees the array's
 * length; the generic one assumes ten elements. For a call of one or a few loads the custom plans are therefore
 * cheaper on paper, and Postgres replans every statement of the call, on every call, forever: about 1.6 ms of
 * Postgres CPU per intake call of one load, more than the call's writes (bench/RESULTS.md "Issue 17, eleventh step").
 * A batch of one is what every request of a quiet service is.
 *
 * The plans cannot depend on the array's length anyway: migration 1765410000000 already made every statement of
 * these functions a probe per key of the batch (LIMIT 1 lookups; hash and merge joins, and in settlement sequential
 * scans, off), which is the right plan for one element and for a thousand. `plan_cache_mode = force_generic_plan`
 * says so to Postgres. A SET clause of the function holds for the statements it runs, the functions it calls and the
 * triggers they fire, and nowhere else.
 *
 * A plan kept for good must also be right when it was made on an empty ledger, and one was not: the lookup of the
 * batch's idempotency keys, `api_key_id = … AND idempotency_key = …`, can be served by two indexes that both begin
 * with api_key_id, the unique key (api_key_id, idempotency_key) and the owner's list (api_key_id, created_at, id). On
 * an empty table both cost the same, Postgres took the owner's list and filtered it by key, and as the ledger grew each
 * lookup read every load of the API key: 10 ms per intake call at 16,000 loads. The lookup now also states the pair as
 * one row comparison, which only the unique key can take as an index condition (it is implied by the two equalities,
 * so it changes no answer). Any other index costs that comparison as a filter, and loses.
 */
const INTAKE_EDITS = [
  [
    'WHERE c.api_key_id = k.api_key_id AND c.idempotency_key = k.idempotency_key LIMIT 1) l',
    `WHERE c.api_key_id = k.api_key_id AND c.idempotency_key = k.idempotency_key
                                    AND (c.api_key_id, c.idempotency_key) >= (k.api_key_id, k.idempotency_key) LIMIT 1) l`,
    1,
  ],
] as const;

/**
 * ledger_resolve_pending's check that each transfer named is pending was a NOT EXISTS, which the planner may make an
 * anti-join: on a connection whose first call comes straight from LedgerService (no join settings of settlement's in
 * force), a generic plan made on an empty journal could be a hash anti-join over a scan of it, kept for the
 * connection. Written as a probe per transfer, like the triggers' reference checks.
 */
const RESOLVE_EDITS = [
  [
    "WHERE NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = p.id AND t.kind = 'pending') LIMIT 1;",
    "WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = p.id AND t.kind = 'pending')) LIMIT 1;",
    1,
  ],
] as const;

const GENERIC: readonly string[] = [
  `card_load_intake(uuid[], text[], uuid[], text[], bytea[], text[], text[], text[], bigint[], character[], uuid[], text[],
    text[], jsonb[], text[], text[], text[])`,
  `card_loads_settle(uuid[], text[], text[], int[], text[], text[], int[], text[], uuid[], text[], text[], uuid[], uuid[],
    text[], text[], text[], text[])`,
  'settlement_lock(uuid[])',
  'ledger_resolve_pending(uuid[], text[], text[], uuid[], uuid[])',
  'ledger_apply_deltas(uuid[], text[], uuid[], bigint[], bigint[], bigint[], bigint[], bigint[])',
];

export class PlansKeptPerConnection1765420000000 implements MigrationInterface {
  name = 'PlansKeptPerConnection1765420000000';

  async up(q: QueryRunner): Promise<void> {
    await rewriteFunction(q, 'card_load_intake', INTAKE_EDITS);
    await rewriteFunction(q, 'ledger_resolve_pending', RESOLVE_EDITS);
    for (const fn of GENERIC) await q.query(`ALTER FUNCTION ${fn} SET plan_cache_mode = force_generic_plan`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const fn of GENERIC) await q.query(`ALTER FUNCTION ${fn} RESET plan_cache_mode`);
    await rewriteFunction(q, 'ledger_resolve_pending', undone(RESOLVE_EDITS));
    await rewriteFunction(q, 'card_load_intake', undone(INTAKE_EDITS));
  }
}
