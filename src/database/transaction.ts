import { DataSource, EntityManager } from 'typeorm';

/** Postgres SQLSTATEs that mean "try the whole transaction again", never a business error (invariant 9). */
const RETRYABLE = new Set(['40001', '40P01']);

export function pgCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; driverError?: { code?: unknown } };
  const code = err?.driverError?.code ?? err?.code;
  return typeof code === 'string' ? code : undefined;
}

export function pgConstraint(e: unknown): string | undefined {
  const err = e as { constraint?: unknown; driverError?: { constraint?: unknown } };
  const c = err?.driverError?.constraint ?? err?.constraint;
  return typeof c === 'string' ? c : undefined;
}

/**
 * One business step = one DB transaction, opened here and its manager passed down.
 * Serialization failures and deadlocks are retried with a short jittered pause, a bounded number of times.
 */
export function inTransaction<T>(ds: DataSource, work: (m: EntityManager) => Promise<T>, attempts = 8): Promise<T> {
  // Postgres' default READ COMMITTED; naming it would cost a SET TRANSACTION round trip per transaction.
  return retried(() => ds.transaction(work), attempts);
}

/**
 * A business step whose every statement is a whole transaction on its own (one database call that writes all of it,
 * or calls that each write all or nothing): no BEGIN and COMMIT round trips, retried as inTransaction is.
 */
export function inStatements<T>(ds: DataSource, work: (m: EntityManager) => Promise<T>, attempts = 8): Promise<T> {
  return retried(() => work(ds.manager), attempts);
}

async function retried<T>(run: () => Promise<T>, attempts: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      const code = pgCode(e);
      if (code === undefined || !RETRYABLE.has(code) || attempt >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}
