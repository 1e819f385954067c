import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/database/embedded-postgres';

/** `npm start` as a user runs it: the built service, no DATABASE_URL, an empty DATA_DIR, then restarts on it. */
const MAIN = path.resolve(__dirname, '../../dist/src/main.js');

interface Started {
  proc: ChildProcess;
  url: string;
  key: string;
  output: () => string;
}

async function start(dataDir: string, extraEnv: Record<string, string> = {}): Promise<Started> {
  const port = await freePort();
  const env = { ...process.env, DATA_DIR: dataDir, PORT: String(port), ...extraEnv } as NodeJS.ProcessEnv;
  delete env.DATABASE_URL;
  delete env.ADMIN_API_KEY;
  delete env.ENKASH_BASE_URL;
  const proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 60_000;
  while (!/listening on/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`service exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`service did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 50));
  const key = /(ckl_[A-Za-z0-9_-]+)/.exec(out)?.[1] ?? '';
  return { proc, url: `http://127.0.0.1:${port}`, key, output: () => out };
}

function exited(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (proc.exitCode !== null ? resolve(proc.exitCode) : proc.once('exit', (code) => resolve(code))));
}

describe('npm start with the embedded database', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'card-ledger-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('should serve on an empty DATA_DIR, restart on it keeping the data, and recover after a crash', async () => {
    expect(existsSync(MAIN)).toBe(true); // npm test builds first (pretest)
    // 1. first start on an empty folder
    const first = await start(dataDir);
    expect(first.key).toMatch(/^ckl_/);
    expect((await fetch(`${first.url}/health/ready`)).status).toBe(200);
    // The console is served at once on the same port, and the printed key signs in to it.
    expect(first.output()).toContain(`console: ${first.url}/console`);
    const page = await fetch(`${first.url}/console`);
    expect([page.status, (await page.text()).includes('/console/assets/')]).toEqual([200, true]);
    const signIn = await fetch(`${first.url}/console/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: first.key }),
    });
    expect([signIn.status, ((await signIn.json()) as { scopes: string[] }).scopes]).toEqual([201, ['admin']]);
    const created = await fetch(`${first.url}/v1/card-loads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.key}`, 'content-type': 'application/json', 'idempotency-key': 'start-1' },
      body: JSON.stringify({ enKashCardId: 'EKCSTART01', amount: '10.00' }),
    });
    expect(created.status).toBe(201);
    const load = (await created.json()) as { id: string };
    first.proc.kill('SIGTERM');
    expect(await exited(first.proc)).toBe(0);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false); // Postgres stopped with us

    // 2. restart on the same folder: same data, a new admin key
    const second = await start(dataDir);
    expect((await fetch(`${second.url}/health/ready`)).status).toBe(200);
    const read = await fetch(`${second.url}/v1/card-loads/${load.id}`, { headers: { authorization: `Bearer ${second.key}` } });
    expect(read.status).toBe(200);
    expect((await fetch(`${second.url}/v1/card-loads`, { headers: { authorization: `Bearer ${first.key}` } })).status).toBe(401);

    // 3. a crash (SIGKILL) leaves an orphaned Postgres and its pid file; the next start recovers
    second.proc.kill('SIGKILL');
    await exited(second.proc);
    const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    expect(existsSync(pidFile)).toBe(true);
    const orphan = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    const third = await start(dataDir);
    expect(third.output()).toMatch(/orphaned server|stale postmaster/);
    expect(() => process.kill(orphan, 0)).toThrow();
    const again = await fetch(`${third.url}/v1/card-loads/${load.id}`, { headers: { authorization: `Bearer ${third.key}` } });
    expect(again.status).toBe(200);
    third.proc.kill('SIGINT');
    expect(await exited(third.proc)).toBe(0);
  }, 180_000);

  it('should refuse a bad configuration with one message listing every problem', async () => {
    const env = {
      ...process.env,
      PORT: 'x',
      ROLE: 'boss',
      ENKASH_ENCRYPTION: 'maybe',
      MAX_LOAD_AMOUNT: '1e5',
      WEBHOOK_TIMEOUT_MS: 'soon',
      RECONCILE_INTERVAL_MS: '-1',
    } as NodeJS.ProcessEnv;
    const proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
    expect(await exited(proc)).toBe(1);
    for (const name of ['PORT', 'ROLE', 'ENKASH_ENCRYPTION', 'MAX_LOAD_AMOUNT', 'WEBHOOK_TIMEOUT_MS', 'RECONCILE_INTERVAL_MS'])
      expect(out).toContain(name);
    expect(out.match(/Invalid configuration/g)).toHaveLength(1); // one message for everything
  });
});

describe("the embedded database's roles", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'card-ledger-roles-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("should run the app as a role that cannot bypass the ledger's triggers, with random passwords never logged", async () => {
    const s = await start(dataDir);
    try {
      const port = /embedded PostgreSQL in .* on 127\.0\.0\.1:(\d+)/.exec(s.output())![1];
      const superuser = readFileSync(path.join(dataDir, '.pg-superuser.key'), 'utf8').trim();
      const app = readFileSync(path.join(dataDir, '.pg-app.key'), 'utf8').trim();
      for (const f of ['.pg-superuser.key', '.pg-app.key']) expect(statSync(path.join(dataDir, f)).mode & 0o777).toBe(0o600);
      expect(s.output()).not.toContain(superuser);
      expect(s.output()).not.toContain(app);
      // The old fixed superuser password no longer opens the database.
      await expect(connect(`postgres://postgres:postgres@127.0.0.1:${port}/card_ledger`)).rejects.toMatchObject({ code: '28P01' });

      const c = await connect(`postgres://card_ledger_app:${app}@127.0.0.1:${port}/card_ledger`);
      try {
        expect((await c.query(`SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user`)).rows[0]).toEqual({
          rolsuper: false,
          rolcreaterole: false,
        });
        await expect(c.query(`SET session_replication_role = replica`)).rejects.toMatchObject({ code: '42501' });
        await expect(c.query(`ALTER TABLE journal_seals DISABLE TRIGGER USER`)).rejects.toMatchObject({ code: '42501' });
        // Nor a temporary table that would stand in for card_loads in the triggers' reference checks (invariant 11).
        await expect(c.query(`CREATE TEMP TABLE card_loads (id uuid)`)).rejects.toMatchObject({ code: '42501' });
        // What the app does need: rows, and every writer's start for the watermark.
        expect((await c.query(`SELECT count(*)::int AS n FROM api_keys`)).rows[0].n).toBeGreaterThan(0);
        expect((await c.query(`SELECT ledger_watermark() IS NOT NULL AS ok`)).rows[0].ok).toBe(true);
      } finally {
        await c.end();
      }
      const health = await fetch(`${s.url}/health/ready`);
      expect(health.status).toBe(200);
    } finally {
      s.proc.kill('SIGTERM');
      await exited(s.proc);
    }
  });
});

async function connect(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}
