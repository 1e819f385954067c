import { ModuleRef } from '@nestjs/core';
import { Client } from 'pg';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { ReconciliationScheduler } from '../../src/reconciliation/reconciliation.scheduler';
import { SyncWorker } from '../../src/sync/sync.worker';
import { WebhookDeliveryWorker } from '../../src/webhooks/webhook-delivery.worker';
import { TestApp } from '../support/app';
import { sql } from '../support/db';
import { createLoad, startSim, startSyncApp, waitFor, waitForStatus } from '../sync/sync-harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the app's container holds `type` anywhere (a role that does not run a job has no instance of it). */
const composes = (t: TestApp, type: abstract new (...args: never[]) => unknown): boolean => {
  try {
    // Through ModuleRef: the application object itself ends the process on a provider it cannot find.
    t.app.get(ModuleRef).get(type, { strict: false });
    return true;
  } catch {
    return false;
  }
};

/**
 * Which process runs what (docs/design.md, "Processes and roles"), observed: ROLE=api takes loads and never sends
 * one, though EnKash is reachable (ENKASH_BASE_URL set), and still seals the journal; ROLE=worker on the same
 * database sends and settles them.
 */
describe('roles', () => {
  let sim: RunningSimulator;
  let api: TestApp;
  let c: Client;
  beforeAll(async () => {
    sim = await startSim();
    api = await startSyncApp(sim, { ROLE: 'api' });
    c = await sql(api.databaseUrl);
  });
  afterAll(async () => {
    await c?.end();
    await api?.close();
    await sim?.close();
  });

  const job = async (loadId: string) =>
    (await c.query(`SELECT attempts, lease_owner, claim_token FROM sync_jobs WHERE load_id = $1`, [loadId])).rows[0];

  it('should take loads with ROLE=api but never claim or send one, and seal their journal rows', async () => {
    expect([SyncWorker, WebhookDeliveryWorker, ReconciliationScheduler].map((type) => composes(api, type))).toEqual([false, false, false]);
    const load = await createLoad(api, 'EKCROLE001', '10.00');
    // The ledger's audit jobs run in every role: the sealer seals the load's pending transfer (every 500 ms).
    await waitFor('the sealer to drain the queue', async () => {
      const { rows } = await c.query(
        `SELECT (SELECT count(*) FROM journal_unsealed)::int AS unsealed, (SELECT count(*) FROM journal_seals)::int AS sealed`,
      );
      return rows[0].unsealed === 0 && rows[0].sealed > 0;
    });
    await sleep(50 * api.config.sync.pollMs); // fifty poll intervals of a worker, were there one
    expect(sim.state.requestCounts).toEqual({ token: 0, balance: 0, 'transaction/all': 0, 'cardAccount/get': 0, search: 0 });
    expect(await job(load.id)).toEqual({ attempts: 0, lease_owner: null, claim_token: null });
    const res = await api.api('GET', `/v1/card-loads/${load.id}`);
    expect(res.body.status).toBe('pending');
    expect(res.body.events.filter((e: { type: string }) => e.type.startsWith('enkash'))).toEqual([]);
  });

  it('should send and settle the same load once a ROLE=worker instance runs on that database', async () => {
    const [load] = (await c.query(`SELECT id, reference FROM card_loads WHERE status = 'pending'`)).rows as Array<{
      id: string;
      reference: string;
    }>;
    const worker = await startSyncApp(sim, { ROLE: 'worker' }, api.databaseUrl);
    try {
      expect([SyncWorker, WebhookDeliveryWorker, ReconciliationScheduler].map((type) => composes(worker, type))).toEqual([
        true,
        true,
        true,
      ]);
      await waitForStatus(api, load.id, ['posted']);
      expect(sim.state.appliedCount(load.reference)).toBe(1);
      expect((await job(load.id)) ?? null).toBeNull(); // the job is finished
    } finally {
      await worker.close();
    }
  });
});
