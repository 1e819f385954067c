/**
 * `DATABASE_URL=<server> node dist/bench/partition-calls.js --ahead M [--rounds R] [--loads N]`: what one intake call
 * and one settlement cost in time with more months attached. On a fresh database migrated by this build (dropped and
 * created as `bench_partition_calls`), `--ahead M` attaches every month up to M months ahead (ledger_ensure_partitions;
 * the migrations' own reach two), then one connection, R rounds: card_load_intake with N loads, then settlement_lock and
 * card_loads_settle posting them in one transaction, as the worker's settlement does. Prints the median time per call
 * of each (the first fifth of the rounds left out: plans, caches) and the relation locks one intake call holds.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { cardLoadIntakeCall } from '../src/card-loads/card-loads.store';
import { runMigrations } from '../src/database/data-source';
import { freshDatabase } from './fresh-database';
import { benchLoadRow, settleBenchRows } from './load-rows';

const median = (xs: number[]) => {
  const kept = xs.slice(Math.floor(xs.length / 5)).sort((a, b) => a - b);
  return kept[Math.floor(kept.length / 2)];
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ahead: { type: 'string', default: '0' },
      rounds: { type: 'string', default: '300' },
      loads: { type: 'string', default: '8' },
    },
  });
  const [ahead, rounds, n] = [Number(values.ahead), Number(values.rounds), Number(values.loads)];
  if (!process.env.DATABASE_URL || !(ahead >= 0 && ahead <= 11) || !(rounds >= 5) || !(n >= 1 && n <= 1000)) {
    throw new Error('usage: DATABASE_URL=<server> node dist/bench/partition-calls.js --ahead 0..11 [--rounds R] [--loads 1..1000]');
  }
  const url = await freshDatabase(process.env.DATABASE_URL, 'bench_partition_calls');
  await runMigrations(url);
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    if (ahead > 0) await db.query(`SELECT ledger_ensure_partitions(now() + make_interval(months => $1))`, [ahead]);
    const [{ parts }] = (await db.query(`SELECT count(*)::int AS parts FROM ledger_partitions() WHERE parent = 'journal_entries'`)).rows;
    const [{ id: apiKeyId }] = (
      await db.query(
        `INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ('bench', 'ckl_bench', $1, '{loads:write}') RETURNING id`,
        [randomBytes(32).toString('hex')],
      )
    ).rows;
    const intakeUs: number[] = [];
    const settleUs: number[] = [];
    let locks = '';
    for (let round = 0; round < rounds; round++) {
      const rows = Array.from({ length: n }, (_, i) =>
        benchLoadRow({ apiKeyId, card: `EKCP${String((round * n + i) % 2000).padStart(6, '0')}`, cardAccountId: 'CAPARTS' }),
      );
      let t0 = performance.now();
      if (round === rounds - 1) {
        // The last round's intake in an open transaction, to count the locks it holds until its commit.
        await db.query('BEGIN');
        await db.query(...cardLoadIntakeCall(rows));
        const held = await db.query(
          `SELECT fastpath, count(*)::int AS n FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' GROUP BY fastpath`,
        );
        locks = held.rows.map((r) => `${r.n} ${r.fastpath ? 'fast-path' : 'in the shared lock table'}`).join(', ');
        await db.query('COMMIT');
      } else await db.query(...cardLoadIntakeCall(rows));
      intakeUs.push((performance.now() - t0) * 1000);
      t0 = performance.now();
      await settleBenchRows(db, rows);
      settleUs.push((performance.now() - t0) * 1000);
    }
    console.log(
      `${parts} partitions per table: intake ${median(intakeUs).toFixed(0)} µs a call, settlement ${median(settleUs).toFixed(0)} µs ` +
        `a call (${n} loads a call, median of the last ${rounds - Math.floor(rounds / 5)} rounds); one intake call holds ` +
        `${locks} relation locks`,
    );
  } finally {
    await db.end();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`partition-calls failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
