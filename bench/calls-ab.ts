/**
 * `DATABASE_URL=<server> node dist/bench/calls-ab.js --base <checkout> [--rounds R] [--loads N]`: an A/B of the write
 * path's SQL between two builds whose schemas differ, in the same minutes. Each build's own migrations make its
 * database (`bench_ab_base`, `bench_ab_this`, dropped and created; `<checkout>` is another build of this repository,
 * built with `npm run build`), then one connection to each, rounds alternating between them (which goes first
 * alternates too): card_load_intake with N loads, then their settlement (settlement_lock + card_loads_settle in one
 * transaction). Prints the median time per call of each, per build (the first fifth of the rounds left out).
 *
 * Why not `BENCH_MAIN`: `bench/run.js` migrates its databases with its own build, so another build's service runs on
 * this build's schema. And a VM's speed drifts by a third from one minute to the next, more than most changes measured
 * here: runs one after the other compare minutes, not builds (bench/RESULTS.md, "Issue 17, fifteenth step").
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { cardLoadIntakeCall } from '../src/card-loads/card-loads.store';
import { freshDatabase } from './fresh-database';
import { benchLoadRow, settleBenchRows } from './load-rows';

interface Side {
  name: string;
  db: Client;
  apiKeyId: string;
  intakeUs: number[];
  settleUs: number[];
}

const median = (xs: number[]) => {
  const kept = xs.slice(Math.floor(xs.length / 5)).sort((a, b) => a - b);
  return kept[Math.floor(kept.length / 2)];
};

/** A database migrated by the build at `root` (its compiled data-source), and one connection to it. */
async function side(name: string, root: string, serverUrl: string): Promise<Side> {
  const url = await freshDatabase(serverUrl, `bench_ab_${name}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the other build's migrations, by path
  const dataSource = require(path.join(root, 'dist/src/database/data-source')) as { runMigrations: (url: string) => Promise<string[]> };
  await dataSource.runMigrations(url);
  const db = new Client({ connectionString: url });
  await db.connect();
  const [{ id }] = (
    await db.query(
      `INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ('bench', 'ckl_bench', $1, '{loads:write}') RETURNING id`,
      [randomBytes(32).toString('hex')],
    )
  ).rows;
  return { name, db, apiKeyId: id, intakeUs: [], settleUs: [] };
}

async function round(s: Side, round: number, n: number): Promise<void> {
  const rows = Array.from({ length: n }, (_, i) =>
    benchLoadRow({ apiKeyId: s.apiKeyId, card: `EKCP${String((round * n + i) % 2000).padStart(6, '0')}`, cardAccountId: 'CAAB' }),
  );
  let t0 = performance.now();
  await s.db.query(...cardLoadIntakeCall(rows));
  s.intakeUs.push((performance.now() - t0) * 1000);
  t0 = performance.now();
  await settleBenchRows(s.db, rows);
  s.settleUs.push((performance.now() - t0) * 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { base: { type: 'string' }, rounds: { type: 'string', default: '800' }, loads: { type: 'string', default: '13' } },
  });
  const [rounds, n] = [Number(values.rounds), Number(values.loads)];
  if (!process.env.DATABASE_URL || !values.base || !(rounds >= 5) || !(n >= 1 && n <= 1000)) {
    throw new Error('usage: DATABASE_URL=<server> node dist/bench/calls-ab.js --base <checkout> [--rounds R] [--loads 1..1000]');
  }
  const sides = [
    await side('base', path.resolve(values.base), process.env.DATABASE_URL),
    await side('this', path.resolve(__dirname, '../..'), process.env.DATABASE_URL),
  ];
  try {
    for (let r = 0; r < rounds; r++) for (const s of r % 2 ? sides : [...sides].reverse()) await round(s, r, n);
    for (const s of sides) {
      console.log(
        `${s.name}: intake ${median(s.intakeUs).toFixed(0)} µs a call, settlement ${median(s.settleUs).toFixed(0)} µs a call ` +
          `(${n} loads a call, median of the last ${rounds - Math.floor(rounds / 5)} rounds)`,
      );
    }
  } finally {
    for (const s of sides) await s.db.end();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`calls-ab failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
