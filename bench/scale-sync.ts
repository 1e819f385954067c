/**
 * Sync on a filled ledger (`npm run bench:scale -- --sync-seconds N`, issue 19): one worker process against the
 * simulator at 20 ms, concurrency 32, on the backlog the fill left (every load pending). Twice:
 * - as if a worker had been alive a moment ago: sends only, what a running ledger does;
 * - after an hour without a live worker, which the worker handles as a possible copy (docs/design.md, "A database that
 *   is a copy"): how long the fork's handling takes, and sync when every load is looked up before its send.
 * Settlements are counted by their moment (the card_loads_settled index), so nothing scans the ledger.
 */
import { ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { startEnKashSimulator, simulatorClientEnv } from '../src/enkash-simulator/simulator';
import { startBenchService } from './bench-service';
import { processCpuSeconds } from './cpu';

export interface SyncPhase {
  /** Seconds from the worker's spawn to its first settlement (after a fork: its handling and its window too). */
  firstSettlementS: number;
  /** The open jobs a fork at this start made lookup-first (its audit event), null when the start was not a fork. */
  forkOpenJobs: number | null;
  /** Loads settled per second over the measured window, and how many. */
  rate: number;
  settled: number;
  /** Worker CPU per settled load, µs. */
  workerUs: number;
  /**
   * Open jobs still below an earlier fork's mark when the phase began: each is looked up before its send, so a
   * "sends only" phase with many of them measures lookup-first sync (a ledger measured before with --sync-seconds).
   */
  belowEarlierFork: number;
}

/** A load's settlement moment, as the card_loads_settled index has it; settled loads from the moment $1 on. */
const SETTLED_AT = `coalesce(posted_at, reversed_at)`;
const SETTLED_FROM = `FROM card_loads WHERE status IN ('posted', 'reversed') AND ${SETTLED_AT} >= $1`;

/** Short timings so that a fork's window (lease + grace) is 6 s, not a minute; the lease rule still holds. */
const WORKER_ENV = {
  ROLE: 'worker',
  SYNC_CONCURRENCY: '32',
  SYNC_POLL_MS: '20',
  ENKASH_TIMEOUT_MS: '1000',
  SYNC_LEASE_MS: '5000',
  SYNC_LOOKUP_GRACE_MS: '1000',
};

export async function syncOnFilledLedger(
  main: string,
  db: string,
  dataDir: string,
  seconds: number,
): Promise<{ sends: SyncPhase; afterSilence: SyncPhase }> {
  const sim = await startEnKashSimulator({ port: 0, latencyMs: 20 });
  const c = new Client({ connectionString: db });
  await c.connect();
  const now = async (): Promise<Date> => (await c.query(`SELECT clock_timestamp() AS t`)).rows[0].t;
  const settledBetween = async (from: Date, to: Date): Promise<number> =>
    Number((await c.query(`SELECT count(*)::int AS n ${SETTLED_FROM} AND ${SETTLED_AT} < $2`, [from, to])).rows[0].n);
  const firstSettledAfter = async (from: Date): Promise<Date | null> =>
    (await c.query(`SELECT min(${SETTLED_AT}) AS t ${SETTLED_FROM}`, [from])).rows[0].t;

  const phase = async (aliveAt: string): Promise<SyncPhase> => {
    await c.query(`UPDATE database_identity SET alive_at = clock_timestamp() - $1::interval`, [aliveAt]);
    const [below] = (
      await c.query(`SELECT count(*)::bigint AS n FROM sync_jobs WHERE fork_mark < (SELECT max(fork_mark) FROM database_identity)`)
    ).rows;
    const spawnedAt = await now();
    let proc: ChildProcess | null = null;
    try {
      proc = (await startBenchService(main, db, { ...simulatorClientEnv(sim.url), DATA_DIR: dataDir, ...WORKER_ENV })).proc;
      let first: Date | null = null;
      for (const until = Date.now() + 600_000; !first && Date.now() < until;) {
        first = await firstSettledAfter(spawnedAt);
        if (!first) await new Promise((r) => setTimeout(r, 200));
      }
      if (!first) throw new Error('no settlement within 10 minutes of the worker start');
      const [fork] = (
        await c.query(
          `SELECT (details->>'openJobsMadeLookupFirst')::bigint AS n FROM audit_events
           WHERE action = 'database.fork_detected' AND at >= $1`,
          [spawnedAt],
        )
      ).rows;
      // The measured window starts once sync runs (the first settlement) and lasts `seconds`.
      const cpu0 = processCpuSeconds(proc.pid!);
      const from = await now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const to = await now();
      const cpu = processCpuSeconds(proc.pid!) - cpu0;
      const settled = await settledBetween(from, to);
      return {
        firstSettlementS: (first.getTime() - spawnedAt.getTime()) / 1000,
        forkOpenJobs: fork ? Number(fork.n) : null,
        rate: settled / ((to.getTime() - from.getTime()) / 1000),
        settled,
        workerUs: (cpu * 1e6) / Math.max(1, settled),
        belowEarlierFork: Number(below.n),
      };
    } finally {
      proc?.kill('SIGTERM');
      await new Promise((r) => proc?.once('exit', r) ?? r(undefined));
    }
  };
  try {
    const sends = await phase('0 seconds');
    const afterSilence = await phase('1 hour');
    return { sends, afterSilence };
  } finally {
    await c.end();
    await sim.close();
  }
}
