/**
 * `node dist/bench/partition-migrate.js --database <name>` with DATABASE_URL (the server) and BENCH_MAIN (the
 * previous release's dist/src/main.js): times migration 1765300000000-PartitionJournalByMonth on a ledger filled
 * before it (`npm run bench:scale -- --loads 1000000 --database <name> --fill-only` with that release), while the
 * previous release takes single-load intake from CLIENTS clients, and reports how long writes were held: the longest
 * gap between two answered loads during the migration, against the longest before it. Prints a markdown section for
 * bench/RESULTS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { runMigrations } from '../src/database/data-source';
import { benchHeaders, startBenchService } from './bench-service';
import { databaseUrlOn } from './fresh-database';

const { values: args } = parseArgs({
  options: { database: { type: 'string', default: 'card_ledger_scale' }, clients: { type: 'string', default: '4' } },
});
const CLIENTS = Number(args.clients);
/** Keys of this run only: an earlier run's would be answered as replays. */
const RUN = Date.now().toString(36);

interface Answer {
  at: number;
  ms: number;
  status: number;
}

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL;
  const previous = process.env.BENCH_MAIN;
  if (!server || !previous) throw new Error('DATABASE_URL (the server) and BENCH_MAIN (the previous build) are required');
  const db = databaseUrlOn(server, args.database);
  const c = new Client({ connectionString: db });
  await c.connect();
  const count = async (t: string) => Number((await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
  const sizes = { loads: await count('card_loads'), entries: await count('journal_entries'), history: await count('account_history') };
  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-partition-'));
  const service = await startBenchService(previous, db, { DATA_DIR: path.join(dir, 'data') });
  const answers: Answer[] = [];
  let running = true;
  let n = 0;
  const client = async (k: number) => {
    while (running) {
      const t0 = performance.now();
      const res = await fetch(`${service.base}/v1/card-loads`, {
        method: 'POST',
        headers: { ...benchHeaders, 'idempotency-key': `partition-${RUN}-${k}-${n++}` },
        body: JSON.stringify({ enKashCardId: `EKCX${String(n % 10000).padStart(6, '0')}`, amount: '1.00', cardAccountId: 'CABFIPS' }),
      }).catch(() => null);
      await res?.arrayBuffer();
      const t1 = performance.now();
      answers.push({ at: t1, ms: t1 - t0, status: res?.status ?? 0 });
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, k) => client(k));
  // The migration's steps as pg_stat_activity shows them (polled every 50 ms): first and last seen, and waits.
  const steps = new Map<string, { first: number; last: number; waited: string }>();
  const watcher = new Client({ connectionString: db });
  await watcher.connect();
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const rows = (
        await watcher.query(
          `SELECT left(regexp_replace(a.query, '\\s+', ' ', 'g'), 90) AS q,
             CASE WHEN a.wait_event_type = 'Lock' THEN coalesce((
               SELECT string_agg(DISTINCT l.locktype || ' ' || coalesce(l.relation::regclass::text, '') || ' ' || l.mode, ', ')
               FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted), '?') || ' held by: ' || coalesce((
               SELECT string_agg(DISTINCT left(regexp_replace(b.query, '\\s+', ' ', 'g'), 50), ' / ') FROM pg_stat_activity b
               WHERE b.pid = ANY(pg_blocking_pids(a.pid))), '?') ELSE '' END AS waiting
           FROM pg_stat_activity a
           WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
             AND query ~ '^\\s*(ALTER TABLE|CREATE (UNIQUE )?INDEX|LOCK TABLE|SELECT ledger_ensure|DROP INDEX)'`,
        )
      ).rows as Array<{ q: string; waiting: string }>;
      const now = performance.now();
      for (const r of rows) {
        const s = steps.get(r.q);
        if (s) Object.assign(s, { last: now, waited: s.waited || r.waiting });
        else steps.set(r.q, { first: now, last: now, waited: r.waiting });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await new Promise((r) => setTimeout(r, 10_000));
    const t0 = performance.now();
    const applied = await runMigrations(db);
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 5_000));
    running = false;
    watching = false;
    await Promise.all([...clients, watch]);
    const gap = (from: number, to: number) => {
      const ok = answers.filter((a) => a.status === 201 && a.at >= from && a.at <= to).map((a) => a.at);
      let longest = 0;
      for (let i = 1; i < ok.length; i++) longest = Math.max(longest, ok[i] - ok[i - 1]);
      return { longest, n: ok.length };
    };
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;
    const during = answers.filter((a) => a.at >= t0 && a.at <= t1);
    const before = gap(0, t0);
    const inside = gap(t0, t1 + 1);
    const failed = answers.filter((a) => a.status !== 201);
    const statuses = [...new Set(failed.map((a) => a.status))].join(', ');
    const lines = [
      `## Issue 19, Growth: partitioning a populated ledger online`,
      '',
      `Command: \`DATABASE_URL=<server> BENCH_MAIN=<previous build>/dist/src/main.js node dist/bench/partition-migrate.js ` +
        `--database ${args.database} --clients ${CLIENTS}\`, on a ledger filled by the previous build with ` +
        `\`npm run bench:scale -- --loads ${sizes.loads} --database ${args.database} --fill-only\`. Run ${new Date().toISOString()}.`,
      '',
      `| ${sizes.loads} loads (${sizes.entries} entries, ${sizes.history} history rows) | measured |`,
      '|---|---|',
      `| migration ${applied.join(', ')} | ${((t1 - t0) / 1000).toFixed(1)} s |`,
      `| single-load intake during it (${CLIENTS} clients, previous build) | ${inside.n} loads answered 201, ` +
        `${failed.length} not${statuses ? ` (${statuses})` : ''} |`,
      `| longest gap between two answered loads, during the migration | ${inside.longest.toFixed(0)} ms |`,
      `| longest gap in the 10 s before it (the machine's own noise) | ${before.longest.toFixed(0)} ms |`,
      `| intake latency during the migration, p50 / p99 / max | ${p(
        during.map((a) => a.ms),
        0.5,
      ).toFixed(0)} / ` +
        `${p(
          during.map((a) => a.ms),
          0.99,
        ).toFixed(0)} / ${Math.max(...during.map((a) => a.ms)).toFixed(0)} ms |`,
      '',
      'Steps seen in pg_stat_activity (polled every 50 ms; a step shorter than that may not show):',
      '',
      '| step | seen for | waited on a lock |',
      '|---|---|---|',
      ...[...steps.entries()].map(
        ([q, s]) =>
          `| \`${q.replace(/\|/g, '\\|')}\` | ${((s.last - s.first) / 1000).toFixed(2)} s | ${s.waited.replace(/\|/g, '/') || 'no'} |`,
      ),
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    running = false;
    watching = false;
    service.proc.kill('SIGTERM');
    await c.end();
    await watcher.end().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
