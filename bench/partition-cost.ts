/**
 * `DATABASE_URL=<server with pg_stat_statements preloaded> BENCH_MAIN=<build>/dist/src/main.js node dist/bench/partition-cost.js`:
 * what single-load intake and settlement cost Postgres in work, not time (the machine is shared): the write-ahead
 * log, buffers touched and statements of pg_stat_statements per load, for one build on a fresh ledger. Run it with
 * the build before migration 1765300000000 and with this one to see what routing rows to monthly partitions costs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { simulatorClientEnv, startEnKashSimulator } from '../src/enkash-simulator/simulator';
import { benchHeaders, startBenchService } from './bench-service';
import { freshDatabase } from './fresh-database';

const LOADS = Number(process.env.BENCH_LOADS ?? 2000);
const CLIENTS = 4;

interface Work {
  calls: number;
  walBytes: number;
  walRecords: number;
  blocks: number;
  statement: Record<string, { calls: number; walBytes: number; blocks: number }>;
}

/** Top-level statements of this database since the last reset; `named` picks statements to show on their own. */
async function work(c: Client, named: string[]): Promise<Work> {
  const rows = (
    await c.query(
      `SELECT query, calls::float8, wal_bytes::float8, wal_records::float8, (shared_blks_hit + shared_blks_read)::float8 AS blocks
       FROM pg_stat_statements WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND query !~* 'pg_stat_statements'`,
    )
  ).rows as Array<{ query: string; calls: number; wal_bytes: number; wal_records: number; blocks: number }>;
  const w: Work = { calls: 0, walBytes: 0, walRecords: 0, blocks: 0, statement: {} };
  for (const r of rows) {
    w.calls += r.calls;
    w.walBytes += r.wal_bytes;
    w.walRecords += r.wal_records;
    w.blocks += r.blocks;
    const name = named.find((n) => r.query.includes(n));
    if (name) {
      const s = (w.statement[name] ??= { calls: 0, walBytes: 0, blocks: 0 });
      s.calls += r.calls;
      s.walBytes += r.wal_bytes;
      s.blocks += r.blocks;
    }
  }
  return w;
}

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL;
  const build = process.env.BENCH_MAIN;
  if (!server || !build) throw new Error('DATABASE_URL and BENCH_MAIN are required');
  const db = await freshDatabase(server, 'bench_partition_cost');
  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-partition-cost-'));
  const sim = await startEnKashSimulator({ port: 0, latencyMs: 5 });
  const env = { ...simulatorClientEnv(sim.url), DATA_DIR: path.join(dir, 'data') };
  const c = new Client({ connectionString: db });
  await c.connect();
  try {
    await c.query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
    const api = await startBenchService(build, db, env);
    let n = 0;
    const intake = async (count: number, prefix: string) => {
      const one = async () => {
        while (n < count) {
          const i = n++;
          const res = await fetch(`${api.base}/v1/card-loads`, {
            method: 'POST',
            headers: { ...benchHeaders, 'idempotency-key': `${prefix}-${i}` },
            body: JSON.stringify({ enKashCardId: `EKCC${String(i % 200).padStart(6, '0')}`, amount: '1.00', cardAccountId: 'CACOST' }),
          });
          if (res.status !== 201) throw new Error(`intake: ${res.status} ${await res.text()}`);
        }
      };
      await Promise.all(Array.from({ length: CLIENTS }, one));
      n = 0;
    };
    await intake(200, 'warm'); // every card opened: the measured loads find their accounts
    await c.query(`SELECT pg_stat_statements_reset()`);
    await intake(LOADS, 'cost');
    const intakeWork = await work(c, ['card_load_intake', 'journal_unsealed u SET content_hash']);
    api.proc.kill('SIGTERM');

    await c.query(`SELECT pg_stat_statements_reset()`);
    const worker = await startBenchService(build, db, { ...env, ROLE: 'worker', SYNC_CONCURRENCY: '16', SYNC_POLL_MS: '20' });
    for (;;) {
      const left = Number((await c.query(`SELECT count(*)::int AS n FROM card_loads WHERE status = 'pending'`)).rows[0].n);
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const settleWork = await work(c, ['settlement_lock', 'card_loads_settle']);
    worker.proc.kill('SIGTERM');
    const settled = LOADS + 200;
    const per = (x: number, d: number) => (x / d).toFixed(1);
    const settling = (k: 'walBytes' | 'blocks') =>
      per((settleWork.statement.settlement_lock?.[k] ?? 0) + (settleWork.statement.card_loads_settle?.[k] ?? 0), settled);
    const lines = [
      `build ${build}, ${LOADS} single loads (${CLIENTS} clients), then ${settled} settled by one worker:`,
      '',
      '| per load | intake (all statements) | `card_load_intake` | settlement (all statements) | `settlement_lock` + `card_loads_settle` |',
      '|---|---|---|---|---|',
      `| WAL bytes | ${per(intakeWork.walBytes, LOADS)} | ${per(intakeWork.statement.card_load_intake?.walBytes ?? 0, LOADS)} | ` +
        `${per(settleWork.walBytes, settled)} | ${settling('walBytes')} |`,
      `| WAL records | ${per(intakeWork.walRecords, LOADS)} | | ${per(settleWork.walRecords, settled)} | |`,
      `| buffers touched | ${per(intakeWork.blocks, LOADS)} | ${per(intakeWork.statement.card_load_intake?.blocks ?? 0, LOADS)} | ` +
        `${per(settleWork.blocks, settled)} | ${settling('blocks')} |`,
      `| top-level statements | ${per(intakeWork.calls, LOADS)} | | ${per(settleWork.calls, settled)} | |`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await c.end();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
