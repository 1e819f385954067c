import { pgCode } from './transaction';

/** How long the older form of a read answers before the newer one is tried again. */
const RECHECK_MS = 10_000;

/**
 * A read this build sends in a form newer than the database's schema may be yet: reads go on while migrations are
 * pending (docs/operations.md). When the newer form fails with `code` (its migration's column or function is missing),
 * the older form answers, and keeps answering for 10 s before the newer one is tried again.
 */
export class OlderSchemaFallback {
  /** performance.now() until which the older form answers: the newer one failed with `code` when last tried. */
  private olderUntil = -Infinity;

  constructor(
    private readonly code: string,
    private readonly onFallback: () => void = () => undefined,
  ) {}

  async read<T>(newer: () => Promise<T>, older: () => Promise<T>): Promise<T> {
    if (performance.now() < this.olderUntil) return older();
    try {
      return await newer();
    } catch (e) {
      if (pgCode(e) !== this.code) throw e;
      this.olderUntil = performance.now() + RECHECK_MS;
      this.onFallback();
      return older();
    }
  }
}
