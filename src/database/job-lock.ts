import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { assert } from '../common/assert';

const logger = new Logger('JobLock');

/** How often a waiting instance asks for the lock again. */
const WAIT_POLL_MS = 100;

/** How often the lock's session says it is alive: well under any idle-in-transaction timeout of a pooler. */
export const JOB_LOCK_HEARTBEAT_MS = 5_000;

export interface JobLockOptions {
  /** Wait for the lock (migrations) instead of giving up at once (scheduled jobs). */
  wait?: boolean;
  heartbeatMs?: number;
}

/**
 * Runs `work` while this instance holds the advisory lock `key`, and returns what it returns; null at once when
 * another instance holds it (unless `wait`). One instance at a time runs a job (docs/operations.md, "Connection
 * pooling (pgbouncer)").
 *
 * The lock is transaction-scoped, held by an open transaction on a dedicated connection (not a pooled one), so that
 * it works behind pgbouncer in transaction pooling mode: a session lock would stay on whichever server connection
 * ran the statement, after pgbouncer gave that connection to someone else. Ending the connection, or the process,
 * ends the transaction and so releases the lock, whatever state anything is in. The transaction only locks: it
 * takes no transaction id and, idle, holds no snapshot, so it holds back neither ledger_watermark() (docs/time.md)
 * nor vacuum. `work`'s own queries go through the pool.
 *
 * While `work` runs the transaction is idle: the server's idle_in_transaction_session_timeout is turned off for
 * it (SET LOCAL), and a heartbeat keeps a pooler's own idle-transaction timeout from ending it. `work` gets a
 * signal that aborts if the lock's connection is lost anyway (the lock may then be someone else's).
 */
export async function withJobLock<T>(
  url: string,
  key: number,
  name: string,
  work: (lost: AbortSignal) => Promise<T>,
  opts: JobLockOptions = {},
): Promise<T | null> {
  assert(Number.isSafeInteger(key), 'an advisory lock key is an integer');
  const lost = new AbortController();
  const session = new Client({ connectionString: url, application_name: `card-ledger-${name}`, keepAlive: true });
  const lose = (why: string) => {
    if (lost.signal.aborted) return;
    logger.warn(`${name} lock lost: ${why}`);
    lost.abort(new Error(`the ${name} lock was lost: ${why}`));
  };
  let ending = false;
  session.on('error', (e) => lose(e.message));
  session.on('end', () => ending || lose('its connection ended'));
  await session.connect();
  try {
    await session.query('BEGIN');
    await session.query('SET LOCAL idle_in_transaction_session_timeout = 0');
    // The simple query protocol (no parameters; the key is an integer): an extended-protocol statement leaves its
    // portal, and with it a snapshot (backend_xmin), open until the transaction's next statement.
    // Waiting is trying again, not blocking in pg_advisory_xact_lock: a blocked statement keeps its snapshot, and a
    // migration's CREATE INDEX CONCURRENTLY waits for every older snapshot of the database, so the instances waiting
    // for the migrations would wait for it while it waited for them (migration 1765300000000, three instances).
    for (;;) {
      const { rows } = await session.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(${key}) AS locked`);
      if (rows[0].locked) break;
      if (!opts.wait) return null;
      await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
    }
    let beating = false;
    const heartbeat = setInterval(() => {
      if (beating || lost.signal.aborted) return;
      beating = true;
      session
        .query('SELECT 1')
        .catch((e: Error) => lose(e.message))
        .finally(() => (beating = false));
    }, opts.heartbeatMs ?? JOB_LOCK_HEARTBEAT_MS);
    heartbeat.unref();
    try {
      return await work(lost.signal);
    } finally {
      clearInterval(heartbeat);
    }
  } finally {
    ending = true;
    // ROLLBACK returns a pooler's server connection clean; closing alone would release the lock too.
    if (!lost.signal.aborted) await session.query('ROLLBACK').catch(() => undefined);
    await session.end().catch(() => undefined);
  }
}
