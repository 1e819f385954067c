/**
 * `npm run soak [-- --seconds 300 --seed 1]`: random EnKash faults, random SIGKILLs of worker processes,
 * random concurrent intake (single, batch, repeated keys); then every DESIGN.md invariant is checked
 * against the database and against the simulator's own record. Prints one verdict line; exit 1 on FAIL.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { SIMULATOR_DEFAULTS } from '../src/config/app-config';
import { runMigrations } from '../src/database/data-source';
import { freePort, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { startEnKashSimulator } from '../src/enkash-simulator/simulator';
import { ledgerViolations } from '../src/ledger/ledger-invariants';
import { freshDatabase } from './fresh-database';

const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');
const ADMIN = 'soak-admin-key-0123456789abcdef';
const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '300' }, seed: { type: 'string', default: '1' } } });
const SECONDS = Number(args.seconds);
let seed = Number(args.seed) >>> 0;
/** mulberry32: the same seed replays the same intake and kill schedule. */
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function spawnService(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [MAIN], { env: { ...process.env, PORT: String(port), LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-5000)));
  proc.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-5000)));
  while (!/listening on/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`service exited: ${out}`);
    await sleep(50);
  }
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-soak-'));
  let stopPg: (() => Promise<void>) | null = null;
  let url = process.env.DATABASE_URL ?? '';
  const children: ChildProcess[] = [];
  const problems: string[] = [];
  try {
    if (!url) {
      const pg = await startEmbeddedPostgres(dir, () => undefined, 'soak');
      url = pg.url;
      stopPg = () => pg.stop();
    } else {
      url = await freshDatabase(url, 'card_ledger_soak');
    }
    await runMigrations(url);
    const modes = ['apply-again', 'reject', 'replay'] as const;
    const sim = await startEnKashSimulator({
      port: 0, seed: Number(args.seed), latencyMs: 5, lookupLagMs: 100, hangMs: 600, failureRate: 0.15,
      duplicateMode: (process.env.SOAK_MODE as (typeof modes)[number] | undefined) ?? modes[Math.floor(random() * 3)],
      failureFaults: ['timeout-after-apply', 'timeout-before-apply', 'reset', 'reset-after-apply', 'http-500', 'http-503', 'html-502', 'http-429', 'no-code'],
    });
    const env = {
      DATABASE_URL: url, ADMIN_API_KEY: ADMIN, ENKASH_BASE_URL: sim.url, ENKASH_TOKEN_URL: `${sim.url}/oauth/token`,
      ENKASH_PARTNER_ID: SIMULATOR_DEFAULTS.partnerId, ENKASH_CLIENT_ID: SIMULATOR_DEFAULTS.clientId,
      ENKASH_CLIENT_SECRET: SIMULATOR_DEFAULTS.clientSecret, ENKASH_USERNAME: SIMULATOR_DEFAULTS.username,
      ENKASH_PASSWORD: SIMULATOR_DEFAULTS.password, ENKASH_COMPANY_ID: SIMULATOR_DEFAULTS.companyId,
      ENKASH_CARD_ACCOUNT_ID: SIMULATOR_DEFAULTS.cardAccountId, ENKASH_TIMEOUT_MS: '300', SYNC_LOOKUP_GRACE_MS: '250',
      SYNC_REJECTION_CONFIRM_MS: '1500', SYNC_LEASE_MS: '3000', SYNC_POLL_MS: '20', SYNC_BACKOFF_BASE_MS: '20',
      SYNC_BACKOFF_CAP_MS: '300', SYNC_MAX_ATTEMPTS: '40', SYNC_CIRCUIT_THRESHOLD: '20', SYNC_CIRCUIT_OPEN_MS: '200',
    };
    const api = await spawnService({ ...env, ROLE: 'api' });
    children.push(api.proc);
    const workers = await Promise.all([spawnService({ ...env, ROLE: 'worker' }), spawnService({ ...env, ROLE: 'worker' })]);
    children.push(...workers.map((w) => w.proc));
    const post = (p: string, body: unknown, key?: string) => fetch(`${api.url}${p}`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    });

    const deadline = Date.now() + SECONDS * 1000;
    let sent = 0;
    let kills = 0;
    let nextKill = Date.now() + 2000 + random() * 4000;
    while (Date.now() < deadline) {
      const jobs: Array<Promise<unknown>> = [];
      for (let i = 0; i < 8; i++) {
        const n = Math.floor(random() * 1_000_000);
        const key = `soak-${random() < 0.1 ? Math.floor(random() * Math.max(1, sent)) : sent + i}`; // some repeated keys
        const amount = `${1 + (n % 500)}.${String(n % 100).padStart(2, '0')}`;
        const card = `EKCSOAK${String(n % 40).padStart(3, '0')}`;
        jobs.push(random() < 0.9
          ? post('/v1/card-loads', { enKashCardId: card, amount }, key)
          : post('/v1/card-loads/batch', { loads: Array.from({ length: 20 }, (_, j) => ({ idempotencyKey: `${key}-b${j}`, enKashCardId: card, amount })) }));
      }
      sent += 8;
      await Promise.allSettled(jobs);
      if (Date.now() > nextKill) {
        const i = Math.floor(random() * workers.length);
        workers[i].proc.kill('SIGKILL');
        kills++;
        workers[i] = await spawnService({ ...env, ROLE: 'worker' });
        children.push(workers[i].proc);
        nextKill = Date.now() + 2000 + random() * 4000;
      }
      await sleep(random() * 50);
    }

    // Let the dust settle: EnKash heals, parked loads are re-queued, everything must leave pending.
    sim.state.setConfig({ failureRate: 0 });
    sim.state.clearFaults();
    const c = new Client({ connectionString: url });
    await c.connect();
    const settleBy = Date.now() + 120_000;
    for (;;) {
      const review = (await c.query(`SELECT id FROM card_loads WHERE status = 'needs_review'`)).rows;
      for (const r of review) await post(`/v1/card-loads/${r.id}/requeue`, {});
      const open = (await c.query(`SELECT count(*)::int AS n FROM card_loads WHERE status IN ('pending', 'needs_review')`)).rows[0].n;
      if (open === 0) break;
      if (Date.now() > settleBy) {
        problems.push(`${open} loads still open 120 s after the faults stopped`);
        break;
      }
      await sleep(500);
    }

    for (const [name, rows] of Object.entries(await ledgerViolations(c))) if (rows.length) problems.push(`${name}: ${JSON.stringify(rows).slice(0, 300)}`);
    const loads: Array<{ id: string; reference: string; status: string; amount: string; en_kash_card_id: string }> =
      (await c.query(`SELECT id, reference, status, amount, en_kash_card_id FROM card_loads`)).rows;
    const suspects: typeof loads = [];
    for (const l of loads) {
      const applied = sim.state.appliedCount(l.reference);
      if (l.status === 'posted' && applied !== 1) problems.push(`posted load ${l.reference} applied ${applied} times at EnKash`);
      if (l.status === 'reversed' && applied !== 0) problems.push(`reversed load ${l.reference} applied ${applied} times at EnKash`);
      if ((l.status === 'posted' && applied !== 1) || (l.status === 'reversed' && applied !== 0)) suspects.push(l);
    }
    // The evidence for each wrong load: its events as the ledger recorded them and every request EnKash saw for it.
    for (const l of suspects.slice(0, 5)) {
      const events = (await c.query(`SELECT at, type, outcome, http_status, code, message, duration_ms, actor FROM load_events
        WHERE load_id = $1 ORDER BY id`, [l.id])).rows;
      process.stdout.write(`evidence: ${JSON.stringify({ reference: l.reference, status: l.status, events, enkash: sim.state.requestsFor(l.reference) })}\n`);
    }
    const cards = (await c.query(`SELECT code, posted_credits - posted_debits AS posted FROM accounts WHERE code LIKE 'card:%'`)).rows;
    for (const a of cards) {
      const simMinor = sim.state.cardBalanceMinor(a.code.slice(5));
      if (simMinor !== BigInt(a.posted)) problems.push(`${a.code}: ledger posted ${a.posted}, EnKash ${simMinor}`);
    }
    const verify = await (await fetch(`${api.url}/v1/audit/verify`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { ok: boolean };
    if (!verify.ok) problems.push(`hash chain: ${JSON.stringify(verify)}`);
    const counts = Object.fromEntries((await c.query(`SELECT status, count(*)::int AS n FROM card_loads GROUP BY status`)).rows.map((r) => [r.status, r.n]));
    await c.end();
    await sim.close();
    const verdict = problems.length === 0 ? 'PASS' : 'FAIL';
    process.stdout.write(`soak: ${verdict} seconds=${SECONDS} seed=${args.seed} mode=${sim.state.config.duplicateMode} loads=${loads.length} ` +
      `posted=${counts.posted ?? 0} reversed=${counts.reversed ?? 0} kills=${kills}${problems.length ? ` problems=${problems.length}: ${problems.slice(0, 5).join(' | ')}` : ''}\n`);
    process.exitCode = problems.length ? 1 : 0;
  } finally {
    for (const ch of children) if (ch.exitCode === null) ch.kill('SIGKILL');
    await sleep(200);
    await stopPg?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stdout.write(`soak: FAIL error=${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
