import { RunningSimulator, SimulatorOptions, simulatorClientEnv, startEnKashSimulator } from '../../src/enkash-simulator/simulator';
import { ClaimedJob, SyncJobsStore } from '../../src/sync/sync-jobs.store';
import { startTestApp, TestApp, TestAppContext, useTestApp } from '../support/app';
import { setByHook } from '../support/hooks';
import { waitFor } from '../support/wait';

export { waitFor };

/** Short timings so every fault costs well under a second: client deadline 400 ms, grace 150 ms. */
export const FAST_SYNC_ENV = {
  ENKASH_TIMEOUT_MS: '400',
  SYNC_POLL_MS: '20',
  SYNC_LOOKUP_GRACE_MS: '150',
  SYNC_REJECTION_CONFIRM_MS: '1500',
  SYNC_BACKOFF_BASE_MS: '20',
  SYNC_BACKOFF_CAP_MS: '200',
  SYNC_LEASE_MS: '3000', // at least 2 × ENKASH_TIMEOUT_MS + 2 s (config refuses less)
  SYNC_MAX_ATTEMPTS: '12',
  SYNC_CIRCUIT_THRESHOLD: '50',
  SYNC_CIRCUIT_OPEN_MS: '300',
  SYNC_CONCURRENCY: '16',
};

export function enkashEnv(sim: RunningSimulator): Record<string, string> {
  return simulatorClientEnv(sim.url);
}

export function startSim(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  return startEnKashSimulator({ port: 0, hangMs: 800, lookupLagMs: 50, ...options });
}

export async function startSyncApp(sim: RunningSimulator, env: Record<string, string> = {}, databaseUrl?: string): Promise<TestApp> {
  return startTestApp({ ...FAST_SYNC_ENV, ...enkashEnv(sim), ...env }, databaseUrl);
}

/**
 * Registers the hooks for a simulator and a sync app on it (`startSyncApp(sim, env)`) with a pg Client on its database:
 * started in that order before all tests, and after them the Client, the app, then the simulator closed.
 */
export function useSyncApp(env: Record<string, string> = {}): TestAppContext & { readonly sim: RunningSimulator } {
  let sim: RunningSimulator | undefined;
  const simulator = (): RunningSimulator => setByHook(sim, 'useSyncApp', 'simulator', 'sim');
  beforeAll(async () => {
    sim = await startSim();
  });
  const ctx = useTestApp({ start: () => startSyncApp(simulator(), env) });
  afterAll(async () => {
    await sim?.close();
    sim = undefined;
  });
  return {
    get sim() {
      return simulator();
    },
    get app() {
      return ctx.app;
    },
    get db() {
      return ctx.db;
    },
  };
}

let n = 0;
export async function createLoad(t: TestApp, card: string, amount: string, key?: string): Promise<{ id: string; reference: string }> {
  const res = await t.api('POST', '/v1/card-loads', {
    body: { enKashCardId: card, amount },
    headers: { 'idempotency-key': key ?? `sync-${process.pid}-${++n}` },
  });
  if (res.status !== 201) throw new Error(`intake failed: ${res.status} ${res.text}`);
  return res.body;
}

export async function waitForStatus(t: TestApp, id: string, statuses: string[], timeoutMs = 20_000) {
  return waitFor(
    `load ${id} to reach ${statuses.join('/')}`,
    async () => {
      const res = await t.api('GET', `/v1/card-loads/${id}`);
      return statuses.includes(res.body.status) ? res.body : null;
    },
    timeoutMs,
  );
}

/**
 * `n` pending loads (cards `${cardPrefix}0…`), each claimed twice by `owner`: first with 1 ms leases that lapse (the
 * stale claims), then again (the current claims, new tokens). For specs that are the only claimer (`ROLE: 'api'`).
 */
export async function staleAndCurrentClaims(
  t: TestApp,
  cardPrefix: string,
  n: number,
  owner = 'worker-a',
): Promise<{ stale: ClaimedJob[]; current: ClaimedJob[] }> {
  const jobs = t.app.get(SyncJobsStore);
  for (let i = 0; i < n; i++) {
    const made = await t.api('POST', '/v1/card-loads', {
      body: { enKashCardId: `${cardPrefix}${i}`, amount: '1.00' },
      headers: { 'idempotency-key': `${cardPrefix}-${i}` },
    });
    if (made.status !== 201) throw new Error(`intake failed: ${made.status} ${made.text}`);
  }
  const stale = await jobs.claim(owner, 10 * n, 1, 0, 0);
  await new Promise((r) => setTimeout(r, 20));
  const current = await jobs.claim(owner, 10 * n, 60_000, 0, 0);
  return { stale, current };
}
