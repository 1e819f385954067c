import { MigrationInterface, QueryRunner } from 'typeorm';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * Intake's lookups by key planned as lookups whatever the statistics say (docs/design.md "Plans that do not depend on
 * statistics", issue 17).
 *
 * Three statements of intake look rows up by a unique key through `CROSS JOIN LATERAL (SELECT … WHERE key = k.key)`:
 * the loads under the batch's idempotency keys, the accounts by code, each account's last history moment. Postgres
 * flattens such a subquery into a join, and a join it may plan as a hash join over a sequential scan of the whole
 * table. A PL/pgSQL function keeps each statement's plan for the life of the connection until an ANALYZE (or DDL)
 * invalidates it: a plan made while the table was small is then used as the table grows. With autovacuum off (this
 * machine's Postgres) that was forever, and each intake call scanned all of card_loads and accounts: Postgres CPU per
 * load at 16 clients rose from about 600 to 1,400 µs on some runs and not others, depending on when each pooled
 * connection had planned (bench/RESULTS.md "Issue 17, tenth step").
 *
 * `LIMIT 1` in each subquery (the key is unique, so it changes no answer) keeps it from being flattened: it runs once
 * per key, and for one row an index probe costs less than a scan of even the ten pages the planner assumes for a table
 * never analyzed, so the plan is the probe whenever it is made.
 *
 * The balances' UPDATE in ledger_apply_deltas (`UPDATE accounts … FROM p WHERE p.id = a.id`) is a join that cannot be
 * written as a subquery; planned on a small ledger it was a hash join over a scan of every account, for intake and
 * settlement alike. ledger_apply_deltas now runs with hash and merge joins off (a SET clause of the function, so for
 * the statements it runs and the triggers they fire, and nowhere else): every join it makes is a nested loop, whose
 * inner side is then the primary-key probe for the same reason as above. Its joins are all of a batch's few moves
 * with the accounts they name, so a nested loop is the right plan at any size.
 *
 * card_loads_settle had the same two shapes: the loads' UPDATE … FROM the batch was a hash join over a scan of every
 * load, and the outbox jobs' DELETE … WHERE load_id = ANY(batch) a scan of every job. It runs with hash and merge
 * joins and sequential scans off (every table it touches is reached by a key of the batch; the batch's own rows are
 * function and CTE scans, which these settings do not touch). The FULL JOIN of the batch's attempts and statuses
 * still gets the hash join it needs: a setting that is off only makes a plan costlier, and there is no other.
 *
 * The trigger that every new journal transaction has entries (journal_transactions_check_entries) asks, per
 * transaction, whether an entry exists: Postgres 17 plans that EXISTS on never-analyzed month partitions as a
 * sequential scan of each (it expects a few matching rows, and the first of them is cheaper found by a scan). It runs
 * with sequential scans off, so the probe is the partitions' transaction index.
 *
 * All of them run with JIT off as well. A plan that must use what a setting turned off carries its penalty cost (10^10),
 * far above jit_above_cost, and Postgres then compiles it with LLVM, inlined and optimized, on every call: the FULL
 * JOIN made each settlement cost 12 ms per load until jit was off too. These statements touch a batch's rows only;
 * compiling them never pays.
 */
const INTAKE_EDITS = [
  [
    'WHERE c.api_key_id = k.api_key_id AND c.idempotency_key = k.idempotency_key) l',
    'WHERE c.api_key_id = k.api_key_id AND c.idempotency_key = k.idempotency_key LIMIT 1) l',
    1,
  ],
  ['(SELECT id FROM accounts WHERE code = k.code) a)', '(SELECT id FROM accounts WHERE code = k.code LIMIT 1) a)', 1],
] as const;

const APPLY_EDITS = [['WHERE a.id = k.id) h;', 'WHERE a.id = k.id LIMIT 1) h;', 1]] as const;

/** Each function whose plans are pinned, with the planner settings it runs with off. */
const PINNED: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['ledger_apply_deltas(uuid[], text[], uuid[], bigint[], bigint[], bigint[], bigint[], bigint[])', ['enable_hashjoin', 'enable_mergejoin', 'jit']],
  [
    `card_loads_settle(uuid[], text[], text[], int[], text[], text[], int[], text[], uuid[], text[], text[], uuid[], uuid[],
      text[], text[], text[], text[])`,
    ['enable_hashjoin', 'enable_mergejoin', 'enable_seqscan', 'jit'],
  ],
  ['journal_transactions_check_entries()', ['enable_seqscan', 'jit']],
];

export class LookupsOnePerKey1765410000000 implements MigrationInterface {
  name = 'LookupsOnePerKey1765410000000';

  async up(q: QueryRunner): Promise<void> {
    await rewriteFunction(q, 'card_load_intake', INTAKE_EDITS);
    await rewriteFunction(q, 'ledger_apply_deltas', APPLY_EDITS);
    for (const [fn, settings] of PINNED) for (const setting of settings) await q.query(`ALTER FUNCTION ${fn} SET ${setting} = off`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [fn, settings] of [...PINNED].reverse()) for (const setting of settings) await q.query(`ALTER FUNCTION ${fn} RESET ${setting}`);
    await rewriteFunction(q, 'ledger_apply_deltas', undone(APPLY_EDITS));
    await rewriteFunction(q, 'card_load_intake', undone(INTAKE_EDITS));
  }
}
