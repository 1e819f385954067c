import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DatabaseIdentity1765000000000 } from '../../migrations/1765000000000-DatabaseIdentity';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source';
import { createTestDatabase, databaseUrl, serverUrl, sql } from '../support/db';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { TestApp } from '../support/app';
import { createLoad, startSim, startSyncApp, waitFor, waitForStatus } from '../sync/sync-harness';

/**
 * Fork safety (docs/operations.md, "Backup and restore"): a worker on a database that is not the one the ledger
 * recorded never sends an open load blind, and with a real EnKash (the simulator over HTTP here) sends nothing until
 * an operator adopts the copy.
 */
describe('fork safety', () => {
  let sim: RunningSimulator;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    for (const close of cleanup.splice(0).reverse()) await close();
    sim.state.clearFaults();
  });
  afterAll(async () => {
    await sim.close();
  });

  /** The ledger on its own database, with loads taken by an API-only instance: nothing was ever claimed or sent. */
  async function ledgerWithOpenLoads(n: number, card: string) {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const api = await startSyncApp(sim, { ROLE: 'api' }, db.url);
    const loads = [];
    for (let i = 0; i < n; i++) loads.push(await createLoad(api, card, `${i + 1}.00`));
    await api.close();
    return { db, loads };
  }

  /** CREATE DATABASE ... TEMPLATE: a clone, what a restore into a new database gives too (a new database OID). */
  async function cloneOf(source: string): Promise<string> {
    const name = `cl_clone_${randomBytes(6).toString('hex')}`;
    const admin = await sql(serverUrl());
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${source}`);
    } finally {
      await admin.end();
    }
    cleanup.push(async () => {
      const c = await sql(serverUrl());
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => c.end());
    });
    return databaseUrl(name);
  }

  async function withApp(start: Promise<TestApp>): Promise<{ t: TestApp; c: Client }> {
    const t = await start;
    const c = await sql(t.databaseUrl);
    cleanup.push(() => t.close());
    cleanup.push(() => c.end());
    return { t, c };
  }

  /** The load was looked up at EnKash before it was first sent: never a blind send. */
  const expectLookupBeforeSend = (events: Array<{ type: string }>) => {
    const types = events.map((e) => e.type);
    expect(types).toContain('enkash_lookup');
    expect(types).toContain('enkash_send');
    expect(types.indexOf('enkash_lookup')).toBeLessThan(types.indexOf('enkash_send'));
  };
  const calls = (refs: string[], endpoint: string) =>
    refs.reduce((n, r) => n + sim.state.requestsFor(r).filter((x) => x.endpoint === endpoint).length, 0);
  const sends = (refs: string[]) => calls(refs, 'balance');
  const lookups = (refs: string[]) => calls(refs, 'transaction/all');

  it('should look every open load up and send nothing on a clone of the ledger until an operator adopts it', async () => {
    const { db, loads } = await ledgerWithOpenLoads(5, 'EKCFORK001');
    const refs = loads.map((l) => l.reference);
    const { t, c } = await withApp(startSyncApp(sim, {}, await cloneOf(db.name)));

    // The worker saw the clone at its start: every open job lookup-first, sends held, said everywhere.
    await waitFor('every load looked up', async () => refs.every((r) => lookups([r]) > 0), 20_000);
    const jobs = await c.query(`SELECT needs_lookup, lookup_after > clock_timestamp() - interval '10 seconds' AS pushed FROM sync_jobs`);
    expect(jobs.rows).toHaveLength(5);
    expect(jobs.rows.every((j) => j.needs_lookup && j.pushed)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(sends(refs)).toBe(0);
    const ready = await t.api('GET', '/health/ready', { key: null });
    expect(ready.status).toBe(503);
    expect(ready.body.error.details).toEqual([{ field: 'databaseIdentity', message: 'held' }]);
    const metrics = (await t.api('GET', '/metrics', { key: null })).text;
    expect(metrics).toMatch(/card_ledger_database_sends_held 1/);
    expect(metrics).toMatch(/card_ledger_database_forks_total\{kind="database"\} 1/);
    const identity = await t.api('GET', '/v1/database/identity');
    expect(identity.body).toMatchObject({ gate: 'held', lastFork: { kind: 'database' } });
    const detected = (await t.api('GET', '/v1/audit/events?action=database.fork_detected')).body.data;
    expect(detected).toHaveLength(1);
    expect(detected[0]).toMatchObject({ actor: 'sync-worker', details: { kind: 'database', sendsHeld: true, openJobsMadeLookupFirst: 5 } });

    // The operator confirms: sends resume, each load still after its lookup, applied once.
    const ops = (await t.api('POST', '/v1/api-keys', { body: { name: 'restore-operator', scopes: ['ops:write'] } })).body;
    const adopted = await t.api('POST', '/v1/database/adopt', {
      key: ops.key,
      body: { reason: 'restored after the disk failure; old server off' },
      headers: { 'x-request-id': 'adopt-1' },
    });
    expect(adopted.status).toBe(200);
    expect(adopted.body.gate).toBe('open');
    for (const l of loads) await waitForStatus(t, l.id, ['posted'], 20_000);
    for (const r of refs) expect(sim.state.appliedCount(r)).toBe(1);
    expectLookupBeforeSend((await t.api('GET', `/v1/card-loads/${loads[0].id}`)).body.events);
    const [adoption] = (await t.api('GET', '/v1/audit/events?action=database.fork_adopted')).body.data;
    expect(adoption).toMatchObject({
      actor: 'restore-operator',
      apiKeyId: ops.id,
      requestId: 'adopt-1',
      details: { reason: 'restored after the disk failure; old server off', forkKind: 'database' },
    });
    expect((await t.api('GET', '/health/ready', { key: null })).status).toBe(200);
    expect((await t.api('POST', '/v1/database/adopt', { body: { reason: 'again' } })).status).toBe(409);
    expectNoViolations(await ledgerViolations(c));
  }, 60_000);

  it('should go on without an operator after a new timeline (a failover), every open load looked up before its send', async () => {
    const { db, loads } = await ledgerWithOpenLoads(3, 'EKCFORK002');
    const before = await sql(db.url);
    await before.query(`UPDATE database_identity SET timeline = timeline + 1`); // the recorded timeline is not the live one
    await before.end();
    const { t, c } = await withApp(startSyncApp(sim, {}, db.url));
    for (const l of loads) {
      const done = await waitForStatus(t, l.id, ['posted'], 20_000);
      expectLookupBeforeSend(done.events);
      expect(sim.state.appliedCount(l.reference)).toBe(1);
    }
    const [fork] = (await t.api('GET', '/v1/audit/events?action=database.fork_detected')).body.data;
    expect(fork.details).toMatchObject({ kind: 'timeline', sendsHeld: false, policy: 'hold' });
    expect((await t.api('GET', '/v1/database/identity')).body.gate).toBe('open');
    expectNoViolations(await ledgerViolations(c));
  }, 60_000);

  it('should hold sends after a new timeline too with DATABASE_FORK_POLICY=hold-all', async () => {
    const { db, loads } = await ledgerWithOpenLoads(1, 'EKCFORK003');
    const before = await sql(db.url);
    await before.query(`UPDATE database_identity SET timeline = timeline + 1`);
    await before.end();
    const { t } = await withApp(startSyncApp(sim, { DATABASE_FORK_POLICY: 'hold-all' }, db.url));
    await waitFor('the lookup', async () => lookups([loads[0].reference]) > 0);
    await new Promise((r) => setTimeout(r, 500));
    expect(sends([loads[0].reference])).toBe(0);
    expect((await t.api('GET', '/v1/database/identity')).body).toMatchObject({ gate: 'held', lastFork: { kind: 'timeline' } });
  });

  it('should send after the lookups without an operator on a clone with DATABASE_FORK_POLICY=proceed', async () => {
    const { db, loads } = await ledgerWithOpenLoads(2, 'EKCFORK004');
    const { t } = await withApp(startSyncApp(sim, { DATABASE_FORK_POLICY: 'proceed' }, await cloneOf(db.name)));
    for (const l of loads) {
      const done = await waitForStatus(t, l.id, ['posted'], 20_000);
      expectLookupBeforeSend(done.events);
      expect(sim.state.appliedCount(l.reference)).toBe(1);
    }
  });

  it("should refuse a blind send when the database stops being the ledger's under a running worker (the fence)", async () => {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const { t, c } = await withApp(startSyncApp(sim, {}, db.url));
    const first = await createLoad(t, 'EKCFORK005', '1.00');
    await waitForStatus(t, first.id, ['posted']);
    // What a failover or a restore under a running pool looks like from inside: the live identity is not the recorded one.
    await c.query(`UPDATE database_identity SET system_identifier = '1'`);
    const load = await createLoad(t, 'EKCFORK005', '2.00');
    await waitFor('the fork to be handled', async () => (await t.api('GET', '/v1/database/identity')).body.gate === 'held');
    await waitFor('the lookup', async () => lookups([load.reference]) > 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(sends([load.reference])).toBe(0);
    const [fork] = (await t.api('GET', '/v1/audit/events?action=database.fork_detected')).body.data;
    // Seen by the fence of the load's first send (or, on a slow machine, by the periodic check just before it): either way
    // nothing was sent, which is what the fence guarantees whoever sees the fork first.
    expect(fork.details).toMatchObject({ kind: 'cluster', trigger: expect.stringMatching(/^(fence|periodic)$/), sendsHeld: true });
    expect((await t.api('GET', `/v1/card-loads/${load.id}`)).body.status).toBe('pending');
  });

  it('should look every open load up first after a long silence (a snapshot keeps the identity), without holding sends', async () => {
    const { db, loads } = await ledgerWithOpenLoads(2, 'EKCFORK006');
    const before = await sql(db.url);
    await before.query(`UPDATE database_identity SET alive_at = clock_timestamp() - interval '1 hour'`);
    await before.end();
    const { t } = await withApp(startSyncApp(sim, {}, db.url));
    for (const l of loads) {
      const done = await waitForStatus(t, l.id, ['posted'], 20_000);
      expectLookupBeforeSend(done.events);
    }
    const [fork] = (await t.api('GET', '/v1/audit/events?action=database.fork_detected')).body.data;
    expect(fork.details).toMatchObject({ kind: 'silence', sendsHeld: false, trigger: 'start' });
  });

  it('should keep the recorded identity when the identity migration runs again on a clone, and never lose the row', async () => {
    const { db } = await ledgerWithOpenLoads(0, 'EKCFORK007');
    const clone = await cloneOf(db.name);
    const ds = new DataSource({ ...dataSourceOptions(clone, 1) });
    await ds.initialize();
    try {
      const recorded = async () => await ds.query(`SELECT system_identifier, database_oid, timeline FROM database_identity`);
      const original = await recorded();
      const runner = ds.createQueryRunner();
      await new DatabaseIdentity1765000000000().up(runner);
      await runner.release();
      expect(await recorded()).toEqual(original);
      const [{ oid }] = await ds.query(`SELECT oid::bigint::text AS oid FROM pg_database WHERE datname = current_database()`);
      expect(original[0].database_oid).not.toBe(oid); // still the source's: the clone is seen as one
      await expect(ds.query(`DELETE FROM database_identity`)).rejects.toThrow(/append-only|refused/);
      await expect(ds.query(`TRUNCATE database_identity`)).rejects.toThrow(/refused/);
    } finally {
      await ds.destroy();
    }
  });
});
