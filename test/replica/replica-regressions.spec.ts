import { createServer, Server, Socket } from 'node:net';
import { Client } from 'pg';
import { startTestApp, TestApp } from '../support/app';
import { freePort } from '../support/local-servers';
import { BANK, FINAL_WAIT_MS, OWNER, useReplicaLedger } from '../support/replica-ledger';
import { describeWithReplicaPair, ReplicaPair } from '../support/replica-pair';

/**
 * Regressions found by the adversarial review of the read-replica feature (review-replica, 053d068): each test failed
 * on ff75ad3 and states the contract it checks (docs/operations.md "Read replicas", docs/time.md "Replicas").
 */
describeWithReplicaPair('read replica review', () => {
  const ledger = useReplicaLedger();
  const { caughtUp, replayPaused, fund } = ledger;
  let pair: ReplicaPair;
  let app: TestApp;
  let primary: Client;
  beforeAll(() => ({ pair, app, primary } = ledger));

  const source = (res: { headers: Headers }) => ({
    source: res.headers.get('ledger-read-source'),
    fallback: res.headers.get('ledger-read-fallback'),
    lag: res.headers.get('ledger-replica-lag-ms'),
  });

  it('should answer GET /v1/journal/{id} right after the POST that returned the id (the primary: read-your-write)', async () => {
    await replayPaused(async () => {
      const body = {
        description: 'read your write',
        entries: [
          { accountCode: BANK, direction: 'debit', amount: '1.00' },
          { accountCode: OWNER, direction: 'credit', amount: '1.00' },
        ],
      };
      const posted = await app.api('POST', '/v1/journal', { body });
      expect(posted.status).toBe(201);
      const got = await app.api('GET', `/v1/journal/${posted.body.id}`);
      expect({ status: got.status, ...source(got) }).toEqual({ ...source(got), status: 200 });
    });
    await caughtUp();
  });

  it('should look the account up after the cut of entries?to=T, so a replica behind T never answers 404', async () => {
    await replayPaused(async () => {
      const code = 'asset:late';
      expect((await app.api('POST', '/v1/accounts', { body: { code, currency: 'INR', normalSide: 'debit' } })).status).toBe(201);
      await fund('4.00', code);
      const to = new Date(Date.now() + 5).toISOString();
      await new Promise((r) => setTimeout(r, 20));
      // docs/operations.md: "A read with a cut looks the card or account up after the cut is replayed".
      const res = await app.api('GET', `/v1/accounts/${code}/entries?to=${encodeURIComponent(to)}`);
      expect({ status: res.status, rows: res.body.data?.length, ...source(res) }).toEqual({ ...source(res), status: 200, rows: 1 });
    });
    await caughtUp();
  });

  it('should never show card-load statuses older than the lag bound, even with createdTo in the settled past', async () => {
    const strict = await startTestApp(
      { DATABASE_READ_URL: pair.replicaUrl('ledger'), DATABASE_READ_MAX_LAG_MS: '200', LEDGER_FINAL_WAIT_MS: String(FINAL_WAIT_MS) },
      pair.primaryUrl('ledger'),
    );
    try {
      const load = await strict.api('POST', '/v1/card-loads', {
        body: { enKashCardId: 'EKCREV0001', amount: '9.00', description: 'review' },
        headers: { 'idempotency-key': 'review-status-1' },
      });
      expect(load.status).toBe(201);
      await new Promise((r) => setTimeout(r, 50));
      const createdTo = new Date().toISOString();
      await caughtUp();
      const q = `/v1/card-loads?enKashCardId=EKCREV0001&createdTo=${encodeURIComponent(createdTo)}`;
      const before = await strict.api('GET', q);
      expect(before.status).toBe(200);
      const was = before.body.data[0].status as string;
      await replayPaused(async () => {
        const next = was === 'pending' ? 'needs_review' : 'reversed';
        await primary.query(`UPDATE card_loads SET status = $2, status_reason = 'review', updated_at = now() WHERE id = $1`, [
          load.body.id,
          next,
        ]);
        await new Promise((r) => setTimeout(r, 1000));
        const res = await strict.api('GET', q);
        // Either the fresh status, or a fallback: never the old one from a replica 1 s behind with a 200 ms bound.
        expect({ status: res.body.data[0].status, ...source(res) }).toEqual({ ...source(res), status: next });
      });
    } finally {
      await strict.close();
    }
    await caughtUp();
  });

  it('should count a replica cut off from the primary as lagging, in reads and in readiness', async () => {
    const [{ primary_conninfo: conninfo }] = await pair.onReplica('SHOW primary_conninfo');
    const strict = await startTestApp(
      { DATABASE_READ_URL: pair.replicaUrl('ledger'), DATABASE_READ_MAX_LAG_MS: '500' },
      pair.primaryUrl('ledger'),
    );
    try {
      await pair.onReplica(`ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=postgres'`);
      await pair.onReplica('SELECT pg_reload_conf()');
      await new Promise((r) => setTimeout(r, 500));
      await fund('3.00');
      await new Promise((r) => setTimeout(r, 1500));
      const entries = await strict.api('GET', `/v1/accounts/${BANK}/entries?limit=500`);
      const [{ n }] = await app.ds.query(
        `SELECT count(*)::int AS n FROM journal_entries e JOIN accounts a ON a.id = e.account_id WHERE a.code = $1`,
        [BANK],
      );
      const ready = await strict.api('GET', '/health/ready', { key: null });
      // The replica misses an entry committed 1.5 s ago (bound 500 ms): it must not serve, or must say it lags.
      expect({ rows: entries.body.data.length, ...source(entries), ready: ready.body.checks.replica }).toEqual({
        rows: n,
        source: 'primary',
        fallback: expect.any(String),
        lag: null,
        ready: 'lagging',
      });
    } finally {
      await strict.close();
      await pair.onReplica(`ALTER SYSTEM SET primary_conninfo = '${String(conninfo).replace(/'/g, "''")}'`);
      await pair.onReplica('SELECT pg_reload_conf()');
    }
    await caughtUp();
  });

  it('should start with a socket-form DATABASE_READ_URL and keep serving from a replica whose role lacks pg_read_all_stats', async () => {
    await primary.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'auditor') THEN CREATE ROLE auditor LOGIN PASSWORD 'sock-secret-7'; END IF;
    END $$`);
    await primary.query('GRANT pg_read_all_data TO auditor');
    await caughtUp();
    const lines: string[] = [];
    // pg's own form for a Unix socket: no host in the authority, which `new URL()` refuses (quoting the password).
    const url = `postgresql://auditor:sock-secret-7@/ledger?host=${encodeURIComponent(pair.socketDir)}&port=${pair.replicaPort}`;
    const sock = await startTestApp({ DATABASE_READ_URL: url, DATABASE_READ_MAX_LAG_MS: '60000' }, pair.primaryUrl('ledger'), {
      logger: ['log', 'warn', 'error'],
      logStream: { write: (line: string) => void lines.push(line) },
    });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await sock.api('GET', '/v1/accounts');
        expect([r.status, source(r).source, source(r).fallback]).toEqual([200, 'replica', null]);
      }
      // One session served all three (it is not dropped per read for a timeline it cannot see), and one warning said why.
      const [{ n }] = await pair.onReplica(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'auditor'`);
      expect(n).toBe(1);
      expect(lines.filter((l) => l.includes('pg_read_all_stats'))).toHaveLength(1);
      expect(lines.join('\n')).not.toContain('sock-secret-7');
    } finally {
      await sock.close();
    }
  });

  it('should move a read the replica cancels (its statement_timeout, SQLSTATE 57014) to the primary', async () => {
    const url = `${pair.replicaUrl('ledger')}?options=${encodeURIComponent('-c statement_timeout=300')}`;
    const slow = await startTestApp({ DATABASE_READ_URL: url, DATABASE_READ_MAX_LAG_MS: '60000' }, pair.primaryUrl('ledger'));
    const locker = new Client({ connectionString: pair.primaryUrl('ledger') });
    await locker.connect();
    try {
      // The replica replays the lock and holds it: its read of accounts waits until its statement_timeout cancels it.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE');
      await caughtUp();
      const pending = slow.api('GET', '/v1/accounts');
      await new Promise((r) => setTimeout(r, 800));
      await locker.query('ROLLBACK');
      const res = await pending;
      expect([res.status, source(res).source, source(res).fallback]).toEqual([200, 'primary', 'replica-cancelled']);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await slow.close();
    }
  });

  it('should answer /health/ready within a probe timeout when the replica host accepts and never answers', async () => {
    const sockets: Socket[] = [];
    const hole: Server = createServer((s) => void sockets.push(s));
    const port = await freePort();
    await new Promise<void>((r) => hole.listen(port, '127.0.0.1', () => r()));
    const hung = await startTestApp(
      { DATABASE_READ_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/ledger` },
      pair.primaryUrl('ledger'),
    );
    try {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const ready = await hung.api('GET', '/health/ready', { key: null });
        times.push(Math.round(performance.now() - t0));
        expect([ready.status, ready.body.checks.replica]).toEqual([200, 'unreachable']);
        expect(ready.text).not.toContain('hunter2');
      }
      // A kubelet's readiness probe times out after 1 s by default: "the replica never fails readiness".
      expect(times.every((t) => t < 1000) ? 'fast' : times).toBe('fast');
    } finally {
      await hung.close();
      sockets.forEach((s) => s.destroy());
      hole.close();
    }
  });

  it('should refuse a standby of another timeline for reads without a cut too (a diverged standby)', async () => {
    await pair.onReplica('SELECT pg_promote(true, 30)');
    const promoted = new Client({ connectionString: pair.replicaUrl('ledger') });
    await promoted.connect();
    await promoted.query(`INSERT INTO accounts (code, currency, normal_side) VALUES ('asset:ghost', 'INR', 'debit')`);
    await promoted.end();
    const otherTimeline = await pair.standbyOfReplica();
    const stray = await startTestApp({ DATABASE_READ_URL: otherTimeline('ledger') }, pair.primaryUrl('ledger'));
    try {
      for (let i = 0; i < 50; i++) {
        const c = new Client({ connectionString: otherTimeline('ledger') });
        await c.connect();
        const { rows } = await c.query(`SELECT 1 FROM accounts WHERE code = 'asset:ghost'`);
        await c.end();
        if (rows.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const list = await stray.api('GET', '/v1/accounts');
      const entries = await stray.api('GET', '/v1/accounts/asset:ghost/entries');
      const onPrimary = await primary.query(`SELECT 1 FROM accounts WHERE code = 'asset:ghost'`);
      expect(onPrimary.rows).toHaveLength(0);
      expect({
        listed: (list.body.data as Array<{ code: string }>).map((a) => a.code).includes('asset:ghost'),
        listSource: source(list).source,
        entries: entries.status,
        entriesSource: source(entries).source,
      }).toEqual({ listed: false, listSource: 'primary', entries: 404, entriesSource: 'primary' });
    } finally {
      await stray.close();
    }
  });
});
