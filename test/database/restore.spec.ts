import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { runMigrations } from '../../src/database/data-source';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { AUDIT_KEY } from '../support/app';
import { serverUrl } from '../support/db';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { dumpableServer, PgTools } from '../support/pg-tools';
import { ServiceProcess, spawnService } from '../support/worker-process';
import { enkashEnv, FAST_SYNC_ENV, startSim, waitFor } from '../sync/sync-harness';

const run = promisify(execFile);
const KEY = 'restore-test-admin-key-0123456789';
const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');

/**
 * The runbook of docs/operations.md ("Backup and restore"), end to end with real processes: pg_dump while loads are
 * pending, the original posts them all, the dump is restored into a new database and the service started on it against
 * the same EnKash (the simulator, applying a repeated reference again). EnKash must apply each load exactly once.
 */
describe('backup and restore', () => {
  let tools: PgTools;
  let server: string;
  let sim: RunningSimulator;
  const procs: ServiceProcess[] = [];
  const databases: string[] = [];
  let dir: string;

  const urlOf = (name: string) => {
    const u = new URL(server);
    u.pathname = `/${name}`;
    return u.toString();
  };
  async function createDatabase(): Promise<string> {
    const name = `cl_restore_${randomBytes(6).toString('hex')}`;
    const admin = new Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end());
    databases.push(name);
    return name;
  }
  const env = (databaseUrl: string, role: string) => ({
    ...FAST_SYNC_ENV,
    ...enkashEnv(sim),
    DATABASE_URL: databaseUrl,
    ROLE: role,
    ADMIN_API_KEY: KEY,
    SYNC_LOOKUP_GRACE_MS: '1500',
    SYNC_CONCURRENCY: '4',
  });
  async function startService(databaseUrl: string): Promise<{ api: string; stop(): Promise<void> }> {
    const api = await spawnService(env(databaseUrl, 'api'));
    const worker = await spawnService(env(databaseUrl, 'worker'));
    procs.push(api, worker);
    const url = /listening on (http:\/\/\S+)/.exec(api.output())![1];
    return { api: url, stop: async () => void (await Promise.all([api.kill('SIGTERM'), worker.kill('SIGTERM')])) };
  }
  const calls = (refs: string[], endpoint: string) =>
    refs.reduce((n, ref) => n + sim.state.requestsFor(ref).filter((x) => x.endpoint === endpoint).length, 0);
  const call = async (base: string, method: string, p: string, body?: unknown) => {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    ({ tools, server } = await dumpableServer(serverUrl()));
    sim = await startSim({ latencyMs: 40 }); // duplicateMode apply-again: a second send would apply the load twice
    dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-dump-'));
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await sim?.close();
    if (!server) return;
    const admin = new Client({ connectionString: server });
    await admin.connect();
    for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('should apply every load at EnKash exactly once after a dump taken mid-run is restored and the service started on it', async () => {
    // The original: a fresh database, API and worker processes, 150 loads taken in one batch.
    const original = await createDatabase();
    await runMigrations(urlOf(original));
    const first = await startService(urlOf(original));
    const batch = await call(first.api, 'POST', '/v1/card-loads/batch', {
      loads: Array.from({ length: 150 }, (_, i) => ({
        idempotencyKey: `restore-${i}`,
        enKashCardId: `EKCREST${String(i % 30).padStart(3, '0')}`,
        amount: `${(i % 7) + 1}.00`,
      })),
    });
    expect(batch.status).toBe(200);
    const references: string[] = batch.body.results.map((x: { load: { reference: string } }) => x.load.reference);
    expect(references).toHaveLength(150);

    // pg_dump while most are pending (custom format, as docs/operations.md says).
    const file = path.join(dir, 'ledger.dump');
    await run(tools.dump, ['--format=custom', `--file=${file}`, urlOf(original)]);

    // The original goes on and posts them all; then it is stopped (the restore replaces it).
    const o = new Client({ connectionString: urlOf(original) });
    await o.connect();
    await waitFor(
      'the original to post every load',
      async () => (await o.query(`SELECT count(*)::int AS n FROM card_loads WHERE status = 'posted'`)).rows[0].n === 150,
      60_000,
    );
    await o.end();
    await first.stop();
    const appliedByOriginal = references.filter((r) => sim.state.appliedCount(r) === 1).length;

    // Restore into a new database, as the runbook does.
    const restored = await createDatabase();
    await run(tools.restore, ['--no-owner', `--dbname=${urlOf(restored)}`, file]);
    const r = new Client({ connectionString: urlOf(restored) });
    await r.connect();
    const [atDump] = (
      await r.query(
        `SELECT count(*) FILTER (WHERE l.status = 'pending')::int AS pending,
              count(*) FILTER (WHERE l.status = 'pending' AND NOT j.needs_lookup)::int AS never_claimed
       FROM card_loads l LEFT JOIN sync_jobs j ON j.load_id = l.id`,
      )
    ).rows;
    expect(atDump.pending).toBeGreaterThan(50); // the dump caught the ledger mid-run
    expect(atDump.never_claimed).toBeGreaterThan(0); // loads a restored copy used to send blind
    const sendsBefore = calls(references, 'balance');

    // The service on the restored database, same EnKash: sends held, every load looked up, found applied, posted.
    const second = await startService(urlOf(restored));
    await waitFor(
      'the restored service to settle every load by lookup',
      async () => (await r.query(`SELECT count(*)::int AS n FROM card_loads WHERE status = 'posted'`)).rows[0].n === 150,
      60_000,
    );
    const sentAfterRestore = calls(references, 'balance') - sendsBefore;
    expect(sentAfterRestore).toBe(0);
    const identity = await call(second.api, 'GET', '/v1/database/identity');
    expect(identity.body).toMatchObject({ gate: 'held', lastFork: { kind: 'database' } });

    // The operator adopts the restored database with the CLI; new loads are then sent, once each.
    const adopted = await run(process.execPath, [CLI, 'database', 'adopt', '--reason', 'restore drill: original stopped', '--json'], {
      env: { ...process.env, DATABASE_URL: urlOf(restored), AUDIT_SEAL_KEY: AUDIT_KEY },
    });
    expect(JSON.parse(adopted.stdout)).toMatchObject({ gate: 'open' });
    const fresh = await call(second.api, 'POST', '/v1/card-loads/batch', {
      loads: Array.from({ length: 10 }, (_, i) => ({
        idempotencyKey: `after-restore-${i}`,
        enKashCardId: 'EKCREST999',
        amount: '1.00',
      })),
    });
    const freshRefs: string[] = fresh.body.results.map((x: { load: { reference: string } }) => x.load.reference);
    await waitFor(
      'the new loads to post',
      async () => (await r.query(`SELECT count(*)::int AS n FROM card_loads WHERE status = 'posted'`)).rows[0].n === 160,
      30_000,
    );

    const applied = [...references, ...freshRefs].map((ref) => sim.state.appliedCount(ref));
    const histogram = applied.reduce<Record<string, number>>((h, n) => ({ ...h, [n]: (h[n] ?? 0) + 1 }), {});
    const lookupsAfterRestore = calls(references, 'transaction/all');
    const trail = (await r.query(`SELECT action, actor, details FROM audit_events ORDER BY seq`)).rows;
    // The figures the runbook's test reports (docs/operations.md quotes them).
    console.log(
      `restore figures: ${JSON.stringify({
        loads: 150,
        pendingAtDump: atDump.pending,
        neverClaimedAtDump: atDump.never_claimed,
        appliedByOriginalBeforeRestore: appliedByOriginal,
        sentAfterRestore,
        lookupsAfterRestore,
        newLoadsAfterAdoption: freshRefs.length,
        appliedCountHistogram: histogram,
      })}`,
    );
    expect(histogram).toEqual({ 1: 160 });
    expect(trail.map((e) => e.action)).toEqual(
      expect.arrayContaining(['service.started', 'database.fork_detected', 'database.fork_adopted']),
    );
    expect(trail.find((e) => e.action === 'database.fork_adopted')!.actor).toMatch(/^cli \(/);
    expectNoViolations(await ledgerViolations(r));
    await r.end();
    await second.stop();
  }, 180_000);
});
