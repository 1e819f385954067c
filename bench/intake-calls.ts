/**
 * `node dist/bench/intake-calls.js --loads N --calls C [--cards K] [--plans auto|generic|custom] [--split]`: what one call of
 * card_load_intake costs Postgres, without the service. One connection calls the function C times with N loads each
 * (cards drawn from K), on a fresh database migrated by this build, from the first call on an empty ledger as a new
 * pooled connection would. Prints the wall time per call and per load and, when the server preloads
 * `pg_stat_statements` (`track = all`), the function's nested statements per call. `--plans` sets the session's
 * plan_cache_mode; the functions' own setting (migration 1765420000000) wins over it where they have one. `--split` runs
 * each call as BEGIN, the call, COMMIT and prints where the wall time went: building the rows (this process), the call
 * (the executor and, beyond `pg_stat_statements`' figure, binding the arrays and reading the rows back), the commit.
 * Needs DATABASE_URL (a server; the database `bench_intake_calls` is dropped and created).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { cardLoadIntakeCall } from '../src/card-loads/card-loads.store';
import { runMigrations } from '../src/database/data-source';
import { freshDatabase } from './fresh-database';
import { benchLoadRow } from './load-rows';

const PLAN_MODES = { auto: 'auto', generic: 'force_generic_plan', custom: 'force_custom_plan' } as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      loads: { type: 'string', default: '1' },
      calls: { type: 'string', default: '500' },
      cards: { type: 'string', default: '100000' },
      plans: { type: 'string', default: 'auto' },
      split: { type: 'boolean', default: false },
    },
  });
  const [n, calls, cards] = [Number(values.loads), Number(values.calls), Number(values.cards)];
  const mode = PLAN_MODES[values.plans as keyof typeof PLAN_MODES];
  if (!process.env.DATABASE_URL || !(n >= 1 && n <= 1000) || !(calls >= 1) || !(cards >= 1) || !mode) {
    throw new Error(
      'usage: DATABASE_URL=<server> node dist/bench/intake-calls.js --loads 1..1000 --calls C [--cards K] [--plans auto|generic|custom]',
    );
  }
  const url = await freshDatabase(process.env.DATABASE_URL, 'bench_intake_calls');
  await runMigrations(url);
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const statements = await c
      .query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
      .then(() => c.query('SELECT 1 FROM pg_stat_statements LIMIT 1'))
      .then(
        () => true,
        () => false,
      );
    await c.query(`SELECT set_config('plan_cache_mode', $1, false)`, [mode]);
    const key = (
      await c.query(
        `INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ('bench', 'ckl_bench', $1, '{loads:write}') RETURNING id`,
        [randomBytes(32)],
      )
    ).rows[0].id as string;
    const split = { build: 0, call: 0, commit: 0 };
    const call = async () => {
      let t = performance.now();
      const lap = (part: keyof typeof split) => {
        const now = performance.now();
        split[part] += now - t;
        t = now;
      };
      const rows = Array.from({ length: n }, () =>
        benchLoadRow({
          apiKeyId: key,
          card: `EKCI${String(Math.floor(Math.random() * cards)).padStart(6, '0')}`,
          cardAccountId: 'CABENCH',
        }),
      );
      const query = cardLoadIntakeCall(rows);
      lap('build');
      if (!values.split) return void (await c.query(...query));
      await c.query('BEGIN');
      t = performance.now();
      await c.query(...query);
      lap('call');
      await c.query('COMMIT');
      lap('commit');
    };
    if (statements) await c.query('SELECT pg_stat_statements_reset()');
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await call();
    const us = ((performance.now() - t0) * 1000) / calls;
    process.stdout.write(
      `${n} loads a call, plan_cache_mode ${mode}: ${us.toFixed(0)} µs per call, ` +
        `${(us / n).toFixed(0)} µs per load (wall, commit included)\n`,
    );
    if (values.split) {
      const per = (ms: number) => ((ms * 1000) / calls).toFixed(0);
      process.stdout.write(`  per call: build ${per(split.build)} µs, call ${per(split.call)} µs, commit ${per(split.commit)} µs\n`);
    }
    if (!statements) return;
    const top = await c.query<{ calls: string; us: number; query: string }>(
      `SELECT calls, total_exec_time * 1000 / $1 AS us, regexp_replace(query, '\\s+', ' ', 'g') AS query FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 15`,
      [calls],
    );
    for (const r of top.rows)
      process.stdout.write(`${r.us.toFixed(0).padStart(7)} µs per call  ${r.calls.padStart(7)} calls  ${r.query.slice(0, 110)}\n`);
  } finally {
    await c.end();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
