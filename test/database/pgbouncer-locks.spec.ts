import { Client } from 'pg';
import { MIGRATION_LOCK_KEY, runMigrations } from '../../src/database/data-source';
import { isDatabaseUnavailable } from '../../src/database/database-outage';
import { withJobLock } from '../../src/database/job-lock';
import { MIGRATIONS } from '../../src/database/migrations';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { RECONCILIATION_LOCK_KEY } from '../../src/reconciliation/reconciliation.service';
import { ADMIN_KEY, TestApp } from '../support/app';
import { createTestDatabase, directUrl, serverUrl, sql } from '../support/db';
import { describeWithPgbouncer, RunningPgbouncer, startPgbouncer } from '../support/pgbouncer';
import { spawnService } from '../support/worker-process';
import { createLoad, enkashEnv, FAST_SYNC_ENV, startSim, startSyncApp, waitFor, waitForStatus } from '../sync/sync-harness';

/**
 * The one-instance-at-a-time job lock (database/job-lock.ts) behind pgbouncer in transaction pooling mode
 * (docs/operations.md, "Connection pooling (pgbouncer)"): a session advisory lock would stay on a pooled server
 * connection after its statement, held by nobody or by whoever gets that connection next.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEY = 7_310_499_001;
/** Long enough for a run to be caught holding the lock; its lookup answers within ENKASH_TIMEOUT_MS below. */
const HANG_MS = 2_500;
const SLOW_ENKASH = { ENKASH_TIMEOUT_MS: '10000', SYNC_LEASE_MS: '25000' };

/** The server backends holding advisory lock `key` in this database, as pg_locks and pg_stat_activity show them. */
async function holders(c: Client, key: number) {
  const { rows } = await c.query<{ pid: number; state: string; backend_xid: string | null; backend_xmin: string | null; xact_start: Date }>(
    `SELECT a.pid, a.state, a.backend_xid::text, a.backend_xmin::text, a.xact_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = $1`,
    [key],
  );
  return rows;
}

function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describeWithPgbouncer('the job lock behind pgbouncer (transaction pooling)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let bouncer: RunningPgbouncer;
  let url: string;
  let direct: Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Few server connections for many clients: statements of one client land on different server connections.
    bouncer = await startPgbouncer(directUrl(serverUrl()), { poolSize: 4 });
    url = bouncer.via(db.url);
    direct = await sql(db.url);
  });
  afterAll(async () => {
    await direct?.end();
    await bouncer?.stop();
    await db?.drop();
  });

  it('should let exactly one holder run, hold no transaction id or snapshot meanwhile, and release when it returns', async () => {
    const hold = gate();
    const ran: string[] = [];
    const attempt = (who: string) =>
      withJobLock(url, KEY, `test-${who}`, async () => {
        ran.push(who);
        await hold.wait;
        return who;
      });
    const first = attempt('a');
    try {
      await waitFor('the lock to be held', async () => (await holders(direct, KEY)).length === 1);
      const second = await attempt('b');
      expect(second).toBeNull();
      expect(ran).toEqual(['a']);

      const [holder] = await holders(direct, KEY);
      // An idle transaction that only locks: no xid (ledger_watermark() ignores it, docs/time.md), no snapshot (vacuum).
      expect(holder).toMatchObject({ state: 'idle in transaction', backend_xid: null, backend_xmin: null });
      const {
        rows: [{ watermark }],
      } = await direct.query<{ watermark: Date }>(`SELECT ledger_watermark() AS watermark`);
      expect(watermark.getTime()).toBeGreaterThan(holder.xact_start.getTime());
    } finally {
      hold.open();
    }
    expect(await first).toBe('a');
    expect(await holders(direct, KEY)).toEqual([]);
    expect(await attempt('c')).toBe('c');
    expect(await holders(direct, KEY)).toEqual([]);
  });

  it('should keep the lock through idle-in-transaction timeouts of the server and of pgbouncer', async () => {
    await direct.query(`ALTER DATABASE ${db.name} SET idle_in_transaction_session_timeout = '300ms'`);
    const strict = await startPgbouncer(directUrl(serverUrl()), { poolSize: 2, idleTransactionTimeoutS: 1 });
    try {
      let signal: AbortSignal | null = null;
      const done = await withJobLock(
        strict.via(db.url),
        KEY,
        'test-timeouts',
        async (lost) => {
          signal = lost;
          await sleep(2_500);
          return (await holders(direct, KEY)).length;
        },
        // Between the two timeouts: the server's is the lock's own to turn off, pgbouncer's the heartbeat's to beat.
        { heartbeatMs: 500 },
      );
      expect(done).toBe(1);
      expect(signal!.aborted).toBe(false);
    } finally {
      await strict.stop();
      await direct.query(`ALTER DATABASE ${db.name} RESET idle_in_transaction_session_timeout`);
    }
  });

  it('should tell the work when the lock is lost, and leave it free for another', async () => {
    const hold = gate();
    let signal: AbortSignal | null = null;
    const first = withJobLock(
      url,
      KEY,
      'test-lost',
      async (lost) => {
        signal = lost;
        await hold.wait;
        return lost.aborted;
      },
      { heartbeatMs: 200 },
    );
    try {
      const [holder] = await waitFor('the lock to be held', async () => {
        const h = await holders(direct, KEY);
        return h.length === 1 ? h : null;
      });
      await direct.query(`SELECT pg_terminate_backend($1)`, [holder.pid]);
      await waitFor('the work to be told', async () => signal?.aborted === true, 10_000);
    } finally {
      hold.open();
    }
    expect(await first).toBe(true);
    expect(await holders(direct, KEY)).toEqual([]);
    expect(await withJobLock(url, KEY, 'test-next', async () => 'next')).toBe('next');
  });

  it('should apply each migration once when three instances migrate a new database at the same moment', async () => {
    const name = `${db.name}_m`;
    await direct.query(`CREATE DATABASE ${name}`);
    const fresh = new URL(db.url);
    fresh.pathname = `/${name}`;
    const c = await sql(fresh.toString());
    try {
      const applied = await Promise.all([1, 2, 3].map(() => runMigrations(bouncer.via(fresh.toString()))));
      expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
      expect((await c.query(`SELECT count(*)::int AS n FROM migrations`)).rows[0].n).toBe(MIGRATIONS.length);
      expect(await holders(c, MIGRATION_LOCK_KEY)).toEqual([]);
    } finally {
      await c.end();
      await direct.query(`DROP DATABASE ${name} WITH (FORCE)`);
    }
  });

  it('should count pgbouncer refusing a client (no server connection free in time) as a database outage (503)', async () => {
    const full = await startPgbouncer(directUrl(serverUrl()), { poolSize: 1, queryWaitTimeoutS: 1 });
    const holder = new Client({ connectionString: full.via(db.url) });
    const waiter = new Client({ connectionString: full.via(db.url) });
    waiter.on('error', () => undefined);
    try {
      await holder.connect();
      await waiter.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT 1');
      const refused = await waiter.query('SELECT 1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toMatchObject({ code: '08P01', message: 'query_wait_timeout' });
      expect(isDatabaseUnavailable(refused)).toBe(true);
    } finally {
      await holder.end().catch(() => undefined);
      await waiter.end().catch(() => undefined);
      await full.stop();
    }
  });

  describe('reconciliation runs of two instances', () => {
    let sim: RunningSimulator;
    let a: TestApp;
    let b: TestApp;
    const run = (t: TestApp) => t.api('POST', '/v1/reports/reconciliation/runs');

    beforeAll(async () => {
      sim = await startSim();
      a = await startSyncApp(sim, SLOW_ENKASH, url);
      b = await startSyncApp(sim, SLOW_ENKASH, url);
      // A posted load: every run then looks it up at EnKash, which the tests below make slow.
      const load = await createLoad(a, 'EKCPGB0001', '12.00');
      await waitForStatus(a, load.id, ['posted']);
      await sleep(300); // past the lookup grace
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await sim?.close();
    });
    const slowLookups = () =>
      sim.state.injectFault({ fault: 'timeout-before-apply', endpoint: 'transaction/all', hangMs: HANG_MS, count: 100 });

    it('should run one of two at once and 409 the other, then leave the lock free', async () => {
      slowLookups();
      try {
        const first = run(a);
        await waitFor('a run to hold the lock', async () => (await holders(direct, RECONCILIATION_LOCK_KEY)).length === 1);
        expect((await run(b)).status).toBe(409);
        expect((await first).status).toBe(201);
        expect(await holders(direct, RECONCILIATION_LOCK_KEY)).toEqual([]);

        const both = await Promise.all([run(a), run(b)]);
        expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
        expect(await holders(direct, RECONCILIATION_LOCK_KEY)).toEqual([]);
      } finally {
        sim.state.clearFaults();
      }
      expect((await run(b)).status).toBe(201);
    }, 60_000);

    it('should stop a run whose lock is lost, and say so', async () => {
      slowLookups();
      try {
        const first = run(a);
        const [holder] = await waitFor('a run to hold the lock', async () => {
          const h = await holders(direct, RECONCILIATION_LOCK_KEY);
          return h.length === 1 ? h : null;
        });
        await direct.query(`SELECT pg_terminate_backend($1)`, [holder.pid]);
        const res = await first;
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ status: 'failed', error: 'stopped: the run lock was lost' });
      } finally {
        sim.state.clearFaults();
      }
    }, 60_000);

    it('should free the lock when the instance holding it is killed', async () => {
      slowLookups();
      const svc = await spawnService({
        ...FAST_SYNC_ENV,
        ...enkashEnv(sim),
        ...SLOW_ENKASH,
        DATABASE_URL: url,
        ROLE: 'all',
        ADMIN_API_KEY: ADMIN_KEY,
      });
      try {
        const base = /listening on (http:\/\/\S+)/.exec(svc.output())![1];
        void fetch(`${base}/v1/reports/reconciliation/runs`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` } }).catch(
          () => undefined,
        );
        await waitFor('the process to hold the lock', async () => (await holders(direct, RECONCILIATION_LOCK_KEY)).length === 1);
        expect((await run(b)).status).toBe(409);
        await svc.kill('SIGKILL');
        await waitFor('the lock to be freed', async () => (await holders(direct, RECONCILIATION_LOCK_KEY)).length === 0, 10_000);
      } finally {
        await svc.kill('SIGKILL');
        sim.state.clearFaults();
      }
      expect((await run(b)).status).toBe(201);
    }, 60_000);
  });
});
