/**
 * `npm run bench`: intake throughput against the raw-SQL floor, intake latency, and sync throughput against
 * the simulator, all in one run on one Postgres. Writes bench/RESULTS.md. See bench/README.md.
 */
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { simulatorClientEnv, startEnKashSimulator, UNREACHABLE_ENKASH_ENV } from '../src/enkash-simulator/simulator';
import { BENCH_ADMIN_KEY, singleLoads } from './bench-service';
import { freshDatabase } from './fresh-database';
import { cpuWindow, postgresCpuSeconds, postmasterOf, processCpuSeconds, StatementCost, statementProfile } from './cpu';

const ROOT = path.resolve(__dirname, '../..');
/** The service build to measure (`BENCH_MAIN`: another build's main.js, for an A/B in one run). */
const MAIN = process.env.BENCH_MAIN ?? path.join(ROOT, 'dist/src/main.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const ADMIN = BENCH_ADMIN_KEY;

function rawBaseline(url: string, clients: number): number {
  const out = execFileSync('bash', [path.join(ROOT, 'bench/raw-sql-baseline.sh'), String(clients), String(SECONDS)], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  return Number(/raw_sql_tps=([\d.]+)/.exec(out)?.[1] ?? NaN);
}

type Profile = Awaited<ReturnType<typeof statementProfile>>;

/** What one figure cost per load: CPU of Postgres and of the service, and Postgres's costliest statements. */
interface Cost {
  postgresUs: number;
  serviceUs: number;
  statements: StatementCost[];
}

async function measured<T>(
  pid: number,
  postmaster: number,
  profile: Profile,
  work: () => Promise<T>,
  loadsOf: (t: T) => number,
): Promise<T & { cost: Cost }> {
  await profile?.reset();
  const cpu = cpuWindow(pid, postmaster);
  const t = await work();
  const loads = loadsOf(t);
  return { ...t, cost: { ...cpu.perUnit(loads), statements: (await profile?.top(loads)) ?? [] } };
}

async function service(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string; rssMb: () => number }> {
  const port = await freePort();
  // Each service its own DATA_DIR (audit key, signed head): never the working directory's .data.
  env = { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'card-ledger-bench-data-')), ...env };
  // BENCH_NODE_ARGS: flags for the services' node (`--cpu-prof --cpu-prof-dir=DIR` to see where their CPU goes).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, MAIN], {
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

/** Single loads at `connections` clients for SECONDS, over 100,000 cards. */
const intake = (url: string, connections: number, tag: string) =>
  singleLoads(url, {
    connections,
    seconds: SECONDS,
    tag,
    card: (n) => `EKCB${String(n % 100000).padStart(6, '0')}`,
    amount: '1500.00',
  });

/** 20,000 loads through `POST /v1/card-loads/batch`, 1,000 per request, 2 requests in flight. */
async function bulkIntake(url: string): Promise<{ rate: number }> {
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
      const res = await fetch(`${url}/v1/card-loads/batch`, {
        method: 'POST',
        body: JSON.stringify({ loads }),
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      });
      if (res.status !== 200) throw new Error(`bulk intake failed: ${res.status}`);
    }
  };
  await Promise.all([send(), send()]);
  return { rate: 20_000 / ((performance.now() - t0) / 1000) };
}

/**
 * N pending loads, then one worker process against the simulator at 20 ms latency. Per settled load: the CPU of the
 * worker, of Postgres and of this process (the simulator, and a count every 200 ms), and Postgres's statements.
 */
async function syncFigure(serverUrl: string, concurrency: number) {
  const syncDb = await freshDatabase(serverUrl, 'bench_sync');
  const sim = await startEnKashSimulator({ port: 0, latencyMs: 20 });
  // One DATA_DIR for both processes: the intake's seals and the worker's are signed by the same audit key.
  const enkash = { ...simulatorClientEnv(sim.url), DATA_DIR: mkdtempSync(path.join(tmpdir(), 'card-ledger-bench-data-')) };
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
  const postmaster = await postmasterOf(syncDb);
  const profile = await statementProfile(syncDb);
  await profile?.reset();
  const pg0 = postgresCpuSeconds(postmaster);
  const sim0 = process.cpuUsage();
  const started = Date.now();
  const worker = await service({
    DATABASE_URL: syncDb,
    ROLE: 'worker',
    SYNC_CONCURRENCY: String(concurrency),
    SYNC_POLL_MS: '20',
    ...enkash,
  });
  const cpu0 = processCpuSeconds(worker.proc.pid!);
  for (;;) {
    const left = Number((await c.query(`SELECT count(*)::int AS n FROM card_loads WHERE status = 'pending'`)).rows[0].n);
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  // Rate over the settling window itself (first to last settlement), not the worker's boot.
  const span = (await c.query(`SELECT extract(epoch FROM max(updated_at) - min(updated_at))::float AS s FROM card_loads`)).rows[0].s;
  const syncRate = total / Math.max(Number(span), (Date.now() - started) / 1000 / 100);
  const workerRss = worker.rssMb();
  const workerUs = ((processCpuSeconds(worker.proc.pid!) - cpu0) * 1e6) / total;
  const postgresUs = ((postgresCpuSeconds(postmaster) - pg0) * 1e6) / total;
  const simCpu = process.cpuUsage(sim0);
  const simulatorUs = (simCpu.user + simCpu.system) / total;
  const statements = (await profile?.top(total)) ?? [];
  worker.proc.kill('SIGTERM');
  await c.end();
  await sim.close();
  return { syncRate, total, workerRss, workerUs, postgresUs, simulatorUs, statements };
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
    // BENCH_ONLY=bulk: the bulk figure alone, for an A/B of the bulk path (no floor: its ratio is not reported).
    const singles = only === 'all' || only === 'intake';
    const raw16 = singles ? rawBaseline(await freshDatabase(serverUrl, 'bench_raw'), 16) : NaN;
    const raw64 = singles ? rawBaseline(await freshDatabase(serverUrl, 'bench_raw'), 64) : NaN;
    const db = await freshDatabase(serverUrl, 'bench_service');
    const api = await service({
      DATABASE_URL: db,
      ROLE: 'api',
      ...UNREACHABLE_ENKASH_ENV,
      RATE_LIMIT_PER_MINUTE: '100000000',
    });
    const intakeOn = only !== 'sync';
    const profile = intakeOn ? await statementProfile(db) : null;
    const pid = api.proc.pid!;
    const postmaster = await postmasterOf(db);
    const skip = {
      rps: NaN,
      p50: NaN,
      p99: NaN,
      non2xx: 0,
      errors: 0,
      loads: 0,
      cost: { postgresUs: NaN, serviceUs: NaN, statements: [] },
    };
    /** `work`, with what it costs the API process and Postgres per load (`loadsOf` counts the loads in its result). */
    const measure = <T>(work: () => Promise<T>, loadsOf: (t: T) => number) => measured(pid, postmaster, profile, work, loadsOf);
    const intakeAt = async (clients: number) =>
      singles
        ? measure(
            () => intake(api.url, clients, `c${clients}`),
            (r) => r.loads,
          )
        : skip;
    // One client first, on the fresh service: each load is a batch of one, as on a quiet service, and the pool's
    // connection makes its plans on such calls (docs/design.md "Plans made once per connection").
    const s1 = await intakeAt(1);
    if (singles) await intake(api.url, 16, 'warm');
    const s16 = await intakeAt(16);
    const s64 = await intakeAt(64);
    // Bulk intake: 1,000 loads per request, 2 requests in flight, 20,000 loads.
    const bulk =
      only !== 'all' && only !== 'bulk'
        ? { rate: NaN, cost: skip.cost }
        : await measure(
            () => bulkIntake(api.url),
            () => 20_000,
          );
    const batchRate = bulk.rate;
    const rss = api.rssMb();
    api.proc.kill('SIGTERM');

    const concurrency = Number(process.env.BENCH_SYNC_CONCURRENCY ?? 32);
    const sync =
      only !== 'all' && only !== 'sync'
        ? { syncRate: NaN, total: 0, workerRss: NaN, workerUs: NaN, postgresUs: NaN, simulatorUs: NaN, statements: [] }
        : await syncFigure(serverUrl, concurrency);
    const { syncRate, total, workerRss } = sync;

    const target = (0.8 * concurrency) / 0.02;
    const ok = (b: boolean) => (b ? 'met' : '**missed**');
    const row = (...cells: string[]) => `| ${cells.join(' | ')} |`;
    const us = (n: number) => `${n.toFixed(0)} µs`;
    /** What a load cost Postgres and the service while `what` ran, against the most Postgres may take. */
    const cpuRow = (what: string, cost: Cost, postgresMaxUs: number) =>
      row(
        `CPU per load, ${what}: Postgres / service`,
        `${us(cost.postgresUs)} / ${us(cost.serviceUs)}`,
        `Postgres ≤ ${postgresMaxUs} µs`,
        ok(cost.postgresUs <= postgresMaxUs),
      );
    rows.push(
      row(
        'intake, 1 client (every load a batch of one): rate, p50 latency, CPU per load Postgres / service',
        `${s1.rps.toFixed(0)} loads/s, ${s1.p50} ms, ${us(s1.cost.postgresUs)} / ${us(s1.cost.serviceUs)}`,
        'reported',
        '',
      ),
      row(
        'intake, 16 clients, one shared parent',
        `${s16.rps.toFixed(0)} loads/s = ${(s16.rps / raw16).toFixed(2)} × raw SQL (${raw16.toFixed(0)} tps)`,
        '≥ 1.0 × raw',
        ok(s16.rps >= raw16),
      ),
      row(
        'intake, 64 clients',
        `${s64.rps.toFixed(0)} loads/s = ${(s64.rps / raw64).toFixed(2)} × raw SQL at 64 (${raw64.toFixed(0)} tps)`,
        '≥ 2.0 × raw',
        ok(s64.rps >= 2 * raw64),
      ),
      row('intake p99 latency, 16 clients', `${s16.p99} ms`, '≤ 50 ms', ok(s16.p99 <= 50)),
      cpuRow('intake at 16 clients', s16.cost, 400),
      row(
        'bulk intake, `POST /v1/card-loads/batch` (1,000 per request, 2 in flight)',
        `${batchRate.toFixed(0)} loads/s`,
        '≥ 10,000',
        ok(batchRate >= 10_000),
      ),
      cpuRow('bulk', bulk.cost, 150),
      row(
        `sync, simulator at 20 ms, one worker, concurrency ${concurrency}`,
        `${syncRate.toFixed(0)} loads/s (${total} loads); worker CPU ${us(sync.workerUs)} per settled load`,
        `≥ ${target.toFixed(0)}`,
        ok(syncRate >= target),
      ),
      row(
        'CPU per settled load, sync: worker / Postgres / simulator (the bench process)',
        `${us(sync.workerUs)} / ${us(sync.postgresUs)} / ${us(sync.simulatorUs)}`,
        'reported',
        '',
      ),
      row(
        'service RSS after intake / worker after sync',
        `${rss.toFixed(0)} MB / ${workerRss.toFixed(0)} MB`,
        '≤ 300 MB',
        ok(rss <= 300 && workerRss <= 300),
      ),
    );
    const statementTable = (title: string, statements: StatementCost[]) =>
      statements.length === 0
        ? []
        : [
            '',
            `${title} (pg_stat_statements, execution time per load; with \`track = all\` a function and the statements` +
              ' inside it both count):',
            '',
            '| statement | calls | µs per load |',
            '|---|---|---|',
            ...statements.map((st) => row(`\`${st.query.replace(/\|/g, '\\|')}\``, String(st.calls), st.usPerUnit.toFixed(0))),
          ];
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
      ...statementTable('Intake at 1 client', s1.cost.statements),
      ...statementTable('Intake at 16 clients', s16.cost.statements),
      ...statementTable('Bulk intake', bulk.cost.statements),
      ...statementTable('Sync (per settled load)', sync.statements),
      '',
      'History page, asOf and trial balance at 1,000,000 loads: `npm run bench:scale` (section below when run).',
      '',
    ].join('\n');
    // This run replaces the first section only; the sections below it (scale, audit, soak, A/B notes) stay.
    const file = path.join(ROOT, 'bench/RESULTS.md');
    const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const rest = previous.indexOf('\n## ');
    writeFileSync(file, rest < 0 ? md : `${md}${previous.slice(rest + 1)}`);
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
