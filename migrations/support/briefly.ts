import { QueryRunner } from 'typeorm';

/** How long a step waits for its locks before it gives way to the writers and tries again: writers queue behind it. */
const LOCK_WAIT_MS = 100;

/**
 * Runs `step` in a transaction with lock_timeout LOCK_WAIT_MS, again after a pause each time it times out (55P03), up
 * to 5 minutes.
 */
export async function briefly<T>(q: QueryRunner, step: () => Promise<T>): Promise<T> {
  const until = Date.now() + 300_000;
  for (;;) {
    // SET LOCAL in a transaction of its own: a session SET would stay on a pooled server connection (pgbouncer).
    await q.startTransaction();
    try {
      await q.query(`SET LOCAL lock_timeout = '${LOCK_WAIT_MS}ms'`);
      const done = await step();
      await q.commitTransaction();
      return done;
    } catch (e) {
      if (q.isTransactionActive) await q.rollbackTransaction();
      const code = (e as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (e as { code?: string }).code;
      if (code !== '55P03' || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    }
  }
}
