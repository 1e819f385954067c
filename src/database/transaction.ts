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
export async function inTransaction<T>(ds: DataSource, work: (m: EntityManager) => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Postgres' default READ COMMITTED; naming it would cost a SET TRANSACTION round trip per transaction.
      return await ds.transaction(work);
    } catch (e) {
      const code = pgCode(e);
      if (code === undefined || !RETRYABLE.has(code) || attempt >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}
