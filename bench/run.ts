/**
 * `npm run bench`: intake throughput against the raw-SQL floor, intake latency, and sync throughput against
 * the simulator, all in one run on one Postgres. Writes bench/RESULTS.md. See bench/README.md.
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { simulatorClientEnv, startEnKashSimulator, UNREACHABLE_ENKASH_ENV } from '../src/enkash-simulator/simulator';
import { freshDatabase } from './fresh-database';

const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const ADMIN = 'bench-admin-key-0123456789abcdef';

function rawBaseline(url: string, clients: number): number {
  const out = execFileSync('bash', [path.join(ROOT, 'bench/raw-sql-baseline.sh'), String(clients), String(SECONDS)], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  return Number(/raw_sql_tps=([\d.]+)/.exec(out)?.[1] ?? NaN);
}

async function service(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string; rssMb: () => number }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: String(port), ADMIN_API_KEY: ADMIN, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  while (!/listening on/.test(out)) {
    if (proc.exitCode !== null) throw new Error(out);
    await new Promise((r) => setTimeout(r, 100));
  }
  const rssMb = () => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  return { proc, url: `http://127.0.0.1:${port}`, rssMb };
}

async function intake(url: string, connections: number, tag: string) {
  let n = 0;
  const result = await autocannon({
    url: `${url}/v1/card-loads`,
    connections,
    duration: SECONDS,
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req: autocannon.Request) => {
          n++;
          const card = `EKCB${String(n % 100000).padStart(6, '0')}`;
          return {
            ...req,
            headers: { ...req.headers, 'idempotency-key': `${tag}-${n}` },
            body: JSON.stringify({ enKashCardId: card, amount: '1500.00' }),
          };
        },
      },
    ],
  });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

async function main(): Promise<void> {
  let serverUrl = process.env.DATABASE_URL ?? '';
  let stopPg: (() => Promise<void>) | null = null;
  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-bench-'));
  if (!serverUrl) {
    const pg = await startEmbeddedPostgres(dir, () => undefined, 'postgres');
    serverUrl = pg.url;
    stopPg = () => pg.stop();
  }
  const rows: string[] = [];
  try {
    const only = process.env.BENCH_ONLY ?? 'all';
    const raw16 = only === 'sync' ? NaN : rawBaseline(await freshDatabase(serverUrl, 'bench_raw'), 16);
    const raw64 = only === 'sync' ? NaN : rawBaseline(await freshDatabase(serverUrl, 'bench_raw'), 64);
    const db = await freshDatabase(serverUrl, 'bench_service');
    const api = await service({
      DATABASE_URL: db,
      ROLE: 'api',
      ...UNREACHABLE_ENKASH_ENV,
      RATE_LIMIT_PER_MINUTE: '100000000',
    });
    const skip = { rps: NaN, p99: NaN, non2xx: 0, errors: 0 };
    if (only !== 'sync') await intake(api.url, 16, 'warm');
    const s16 = only === 'sync' ? skip : await intake(api.url, 16, 'c16');
    const s64 = only === 'sync' ? skip : await intake(api.url, 64, 'c64');
    // Bulk intake: 1,000 loads per request, 2 requests in flight, 20,000 loads.
    let batchRate = NaN;
    if (only !== 'sync') {
      const t0 = performance.now();
      let next = 0;
      const send = async () => {
        while (next < 20_000) {
          const from = next;
          next += 1000;
          const loads = Array.from({ length: 1000 }, (_, j) => ({
            idempotencyKey: `bulk-${from + j}`,
            enKashCardId: `EKCK${String((from + j) % 100000).padStart(6, '0')}`,
            amount: '10.00',
          }));
          const res = await fetch(`${api.url}/v1/card-loads/batch`, {
            method: 'POST',
            body: JSON.stringify({ loads }),
            headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          });
          if (res.status !== 200) throw new Error(`bulk intake failed: ${res.status}`);
        }
      };
      await Promise.all([send(), send()]);
      batchRate = 20_000 / ((performance.now() - t0) / 1000);
    }
    const rss = api.rssMb();
    api.proc.kill('SIGTERM');

    // Sync: N pending loads, then one worker process against the simulator at 20 ms latency.
    const syncDb = await freshDatabase(serverUrl, 'bench_sync');
    const sim = await startEnKashSimulator({ port: 0, latencyMs: 20 });
    const concurrency = Number(process.env.BENCH_SYNC_CONCURRENCY ?? 32);
    const enkash = simulatorClientEnv(sim.url);
    const intakeOnly = await service({ DATABASE_URL: syncDb, ROLE: 'api', ...enkash });
    const syncLoads = Number(process.env.BENCH_SYNC_LOADS ?? 5000);
    for (let i = 0; i < syncLoads; i += 1000) {
      const loads = Array.from({ length: Math.min(1000, syncLoads - i) }, (_, j) => ({
        idempotencyKey: `sync-${i + j}`,
        enKashCardId: `EKCS${String((i + j) % 100000).padStart(6, '0')}`,
        amount: '10.00',
      }));
      const res = await fetch(`${intakeOnly.url}/v1/card-loads/batch`, {
        method: 'POST',
        body: JSON.stringify({ loads }),
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      });
      if (res.status !== 200) throw new Error(`batch intake failed: ${res.status}`);
    }
    intakeOnly.proc.kill('SIGTERM');
    const c = new Client({ connectionString: syncDb });
    await c.connect();
    const total = Number((await c.query(`SELECT count(*)::int AS n FROM card_loads`)).rows[0].n);
    const started = Date.now();
    const worker = await service({
      DATABASE_URL: syncDb,
      ROLE: 'worker',
      SYNC_CONCURRENCY: String(concurrency),
      SYNC_POLL_MS: '20',
      ...enkash,
    });
    for (;;) {
      const left = Number((await c.query(`SELECT count(*)::int AS n FROM card_loads WHERE status = 'pending'`)).rows[0].n);
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Rate over the settling window itself (first to last settlement), not the worker's boot.
    const span = (await c.query(`SELECT extract(epoch FROM max(updated_at) - min(updated_at))::float AS s FROM card_loads`)).rows[0].s;
    const syncRate = total / Math.max(Number(span), (Date.now() - started) / 1000 / 100);
    const workerRss = worker.rssMb();
    worker.proc.kill('SIGTERM');
    await c.end();
    await sim.close();

    const target = (0.8 * concurrency) / 0.02;
    const ok = (b: boolean) => (b ? 'met' : '**missed**');
    const row = (...cells: string[]) => `| ${cells.join(' | ')} |`;
    rows.push(
      row(
        'intake, 16 clients, one shared parent',
        `${s16.rps.toFixed(0)} loads/s = ${(s16.rps / raw16).toFixed(2)} × raw SQL (${raw16.toFixed(0)} tps)`,
        '≥ 1.0 × raw',
        ok(s16.rps >= raw16),
      ),
      row(
        'intake, 64 clients',
        `${s64.rps.toFixed(0)} loads/s = ${(s64.rps / s16.rps).toFixed(2)} × own 16-client figure (raw SQL at 64: ${raw64.toFixed(0)} tps)`,
        '≥ 0.9 ×',
        ok(s64.rps >= 0.9 * s16.rps),
      ),
      row('intake p99 latency, 16 clients', `${s16.p99} ms`, '≤ 50 ms', ok(s16.p99 <= 50)),
      row(
        'bulk intake, `POST /v1/card-loads/batch` (1,000 per request, 2 in flight)',
        `${batchRate.toFixed(0)} loads/s`,
        '≥ 20,000',
        ok(batchRate >= 20_000),
      ),
      row(
        `sync, simulator at 20 ms, one worker, concurrency ${concurrency}`,
        `${syncRate.toFixed(0)} loads/s (${total} loads)`,
        `≥ ${target.toFixed(0)} and ≥ 500`,
        ok(syncRate >= target && syncRate >= 500),
      ),
      row(
        'service RSS after intake / worker after sync',
        `${rss.toFixed(0)} MB / ${workerRss.toFixed(0)} MB`,
        '≤ 300 MB',
        ok(rss <= 300 && workerRss <= 300),
      ),
    );
    const errors =
      `intake errors: 16 clients ${s16.errors} errors ${s16.non2xx} non-2xx; ` + `64 clients ${s64.errors} errors ${s64.non2xx} non-2xx`;
    const md = [
      '# Benchmark results',
      '',
      `Command: \`npm run bench\` (${SECONDS} s per figure; \`BENCH_SECONDS\`, \`BENCH_SYNC_CONCURRENCY\`, \`DATABASE_URL\` to change).`,
      `Run: ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ` +
        `${(totalmem() / 2 ** 30).toFixed(0)} GiB,`,
      `Postgres: ${process.env.DATABASE_URL ? 'DATABASE_URL server' : 'embedded (17)'}; service and load generator on the same machine.`,
      '',
      '| figure | measured | target | |',
      '|---|---|---|---|',
      ...rows,
      '',
      errors,
      '',
      'History page, asOf and trial balance at 1,000,000 loads: `npm run bench:scale` (section below when run).',
      '',
    ].join('\n');
    writeFileSync(path.join(ROOT, 'bench/RESULTS.md'), md);
    process.stdout.write(md);
  } finally {
    await stopPg?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
