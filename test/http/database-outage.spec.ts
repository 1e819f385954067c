import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runMigrations } from '../../src/database/data-source';
import { EmbeddedDatabase, startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { startTestApp, TestApp } from '../support/app';
import { createTestDatabase, sql } from '../support/db';
import { waitFor } from '../sync/sync-harness';

type Line = Record<string, unknown> & { level: string; msg: string; context?: string; res?: { statusCode: number } };

function capture(): { stream: PassThrough; lines: () => Line[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line),
  };
}

const outageLines = (log: { lines: () => Line[] }) => log.lines().filter((l) => l.context === 'database').length;

let n = 0;
const intake = (t: TestApp) =>
  t.api('POST', '/v1/card-loads', {
    body: { enKashCardId: 'EKCDOWN777', amount: '1.00' },
    headers: { 'idempotency-key': `outage-${process.pid}-${++n}` },
  });

/** Every answer of an outage: 503 service_unavailable with Retry-After, never a 500, never a stack in the log. */
function expectOutageAnswer(res: { status: number; headers: Headers; body: { error: { code: string } } }): void {
  expect(res.status).toBe(503);
  expect(res.body.error.code).toBe('service_unavailable');
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
}

/** The outage itself is logged once at warn when it starts and once when it ends (with a count); no error line, no stack. */
function expectOneOutage(lines: Line[], answered: number): void {
  const db = lines.filter((l) => l.context === 'database');
  expect(db.map((l) => l.level)).toEqual(['warn', 'warn']);
  expect(db[0].msg).toMatch(/^the database failed \(.+\): requests are answered 503/);
  const count = Number(/(\d+) failure\(s\)/.exec(db[1].msg)?.[1]);
  expect(count).toBeGreaterThanOrEqual(answered);
  expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  expect(lines.filter((l) => /\n\s+at /.test(JSON.stringify(l)))).toEqual([]);
  // The request log has the 503s at info: the warning above is the one line per outage.
  const refused = lines.filter((l) => l.res?.statusCode === 503);
  expect(refused.length).toBeGreaterThanOrEqual(answered);
  expect(refused.every((l) => l.level === 'info')).toBe(true);
}

describe('database outages', () => {
  it('should answer 503 with Retry-After while Postgres is stopped and restarting, and log the outage once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-outage-'));
    let db: EmbeddedDatabase = await startEmbeddedPostgres(dir, () => undefined, 'outage_test');
    await runMigrations(db.url);
    const log = capture();
    const t = await startTestApp({}, db.url, { logger: ['log'], logStream: log.stream });
    try {
      expect((await intake(t)).status).toBe(201);
      await db.stop();
      const answers = [];
      for (let i = 0; i < 20; i++) answers.push(await (i % 2 ? intake(t) : t.api('GET', '/v1/card-loads')));
      for (const a of answers) expectOutageAnswer(a);
      expect((await t.api('GET', '/health/ready', { key: null })).status).toBe(503);
      db = await startEmbeddedPostgres(dir, () => undefined, 'outage_test', db.port);
      await waitFor('intake to work again', async () => (await intake(t)).status === 201, 30_000);
      await waitFor('the outage to be logged as over', async () => outageLines(log) === 2, 10_000);
      expectOneOutage(log.lines(), answers.length);
      expect((await t.api('GET', '/metrics', { key: null })).text).toMatch(/card_ledger_database_unavailable_answers_total \d+/);
    } finally {
      await t.app.close();
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('should answer writes 503 while the database is read-only (a failover), go on reading, and log it once', async () => {
    const created = await createTestDatabase();
    const log = capture();
    const t = await startTestApp({}, created.url, { logger: ['log'], logStream: log.stream });
    const admin = await sql(created.url);
    // New sessions of the database are read-only; the app's open ones are cut, as a failover cuts them.
    const cutOver = async (setting: string) => {
      await admin.query(`ALTER DATABASE ${created.name} ${setting}`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [
        created.name,
      ]);
    };
    try {
      expect((await intake(t)).status).toBe(201);
      await cutOver('SET default_transaction_read_only = on');
      let refused = 0;
      for (let i = 0; i < 10; i++) {
        const res = await intake(t);
        expectOutageAnswer(res);
        refused += 1;
      }
      const read = await waitFor('reads to work on the read-only database', async () => {
        const r = await t.api('GET', '/v1/card-loads');
        if (r.status === 503) refused += 1;
        return r.status === 200 ? r : null;
      });
      expect(read.body.data).toHaveLength(1);
      const last = await intake(t);
      expectOutageAnswer(last);
      expect(last.body.error.message).toMatch(/read-only/);
      refused += 1;
      await cutOver('RESET default_transaction_read_only');
      await waitFor('writes to work again', async () => (await intake(t)).status === 201, 20_000);
      await waitFor('the outage to be logged as over', async () => outageLines(log) === 2, 10_000);
      expectOneOutage(log.lines(), refused);
    } finally {
      await admin.end();
      await t.close();
    }
  }, 60_000);

  it("should refuse writes with 503 while this release's migrations are not all applied, and go on reading", async () => {
    const t = await startTestApp();
    const c = await sql(t.databaseUrl);
    try {
      expect((await intake(t)).status).toBe(201);
      const [{ name }] = (await c.query(`DELETE FROM migrations WHERE id = (SELECT max(id) FROM migrations) RETURNING name`)).rows;
      await new Promise((r) => setTimeout(r, 1100)); // what the gate remembers of its last look
      const refused = await intake(t);
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'service_unavailable', message: expect.stringMatching(/migration/) });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await t.api('POST', '/v1/api-keys', { body: { name: 'x', scopes: ['ledger:read'] } })).status).toBe(503);
      // The key is checked first (the gate is a guard after ApiKeyGuard): a caller without one learns nothing more.
      expect((await t.api('POST', '/v1/api-keys', { key: null, body: { name: 'x', scopes: ['ledger:read'] } })).status).toBe(401);
      expect((await t.api('GET', '/v1/card-loads')).status).toBe(200);
      const ready = await t.api('GET', '/health/ready', { key: null });
      expect(ready.body.error.details).toContainEqual({ field: 'migrations', message: 'pending' });
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM card_loads`);
      expect(rows[0].n).toBe(1); // nothing written
      await c.query(`INSERT INTO migrations (timestamp, name) VALUES ($1, $2)`, [Number(/\d{13}/.exec(name)![0]), name]);
      await waitFor('writes to be taken again', async () => (await intake(t)).status === 201, 5_000);
    } finally {
      await c.end();
      await t.close();
    }
  });
});
