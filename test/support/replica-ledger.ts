import { Client } from 'pg';
import { runMigrations } from '../../src/database/data-source';
import { startTestApp, TestApp } from './app';
import { postTransfer } from './journal';
import { ReplicaPair, startReplicaPair } from './replica-pair';

export const FINAL_WAIT_MS = 3000;
export const BANK = 'asset:bank';
export const OWNER = 'equity:owner';

export interface ReplicaLedger {
  pair: ReplicaPair;
  /** The service on the primary, reading from the replica (lag bound 60 s, final wait FINAL_WAIT_MS). */
  app: TestApp;
  /** A session on the primary's `ledger` database. */
  primary: Client;
  /** Waits until the replica has replayed everything the primary has written. */
  caughtUp: () => Promise<void>;
  /** `work` with the replica's replay paused, resumed after. */
  replayPaused: <T>(work: () => Promise<T>) => Promise<T>;
  /** A posted transfer of `amount` from `from` (the bank) to the owner, through the API. */
  fund: (amount: string, from?: string) => Promise<void>;
}

/**
 * A primary and its streaming replica (test/support/replica-pair.ts) holding a migrated `ledger` database with two
 * accounts, 100.00 funded and replayed, and the service reading from the replica: the start both replica specs
 * share. Its fields are filled by beforeAll; call inside describeWithReplicaPair.
 */
export function useReplicaLedger(): ReplicaLedger {
  const ctx = {
    caughtUp: async () => {
      const {
        rows: [{ lsn }],
      } = await ctx.primary.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      for (const deadline = Date.now() + 20_000; ;) {
        const [r] = await ctx.pair.onReplica(`SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS done`);
        if (r.done) return;
        if (Date.now() > deadline) throw new Error('the replica did not catch up');
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    replayPaused: async <T>(work: () => Promise<T>): Promise<T> => {
      await ctx.pair.onReplica('SELECT pg_wal_replay_pause()');
      try {
        return await work();
      } finally {
        await ctx.pair.onReplica('SELECT pg_wal_replay_resume()');
      }
    },
    fund: async (amount: string, from = BANK) => {
      expect((await postTransfer(ctx.app, `funding ${amount}`, from, OWNER, amount)).status).toBe(201);
    },
  } as ReplicaLedger;

  beforeAll(async () => {
    ctx.pair = await startReplicaPair();
    const admin = new Client({ connectionString: ctx.pair.primaryUrl('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE ledger');
    await admin.end();
    ctx.primary = new Client({ connectionString: ctx.pair.primaryUrl('ledger') });
    await ctx.primary.connect();
    await runMigrations(ctx.pair.primaryUrl('ledger'));
    ctx.app = await startTestApp(
      { DATABASE_READ_URL: ctx.pair.replicaUrl('ledger'), DATABASE_READ_MAX_LAG_MS: '60000', LEDGER_FINAL_WAIT_MS: String(FINAL_WAIT_MS) },
      ctx.pair.primaryUrl('ledger'),
    );
    for (const [code, normalSide] of [
      [BANK, 'debit'],
      [OWNER, 'credit'],
    ]) {
      expect((await ctx.app.api('POST', '/v1/accounts', { body: { code, currency: 'INR', normalSide } })).status).toBe(201);
    }
    await ctx.fund('100.00');
    await ctx.caughtUp();
  }, 120_000);

  afterAll(async () => {
    await ctx.app?.close();
    await ctx.primary?.end();
    await ctx.pair?.stop();
  });
  return ctx;
}
