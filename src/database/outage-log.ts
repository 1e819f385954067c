import { Logger } from '@nestjs/common';

/**
 * One warning when something that needs the database starts failing, a count while it goes on, and one warning when it
 * works again, with how long and how often: an outage of a minute is two lines, not one per poll or per request.
 */
export class OutageLog {
  private since: { atMs: number; failures: number } | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  get failing(): boolean {
    return this.since !== null;
  }

  /** Returns true for the first failure of an outage (the one that was logged). */
  failed(e: unknown, then: string): boolean {
    if (this.since !== null) {
      this.since.failures += 1;
      return false;
    }
    this.since = { atMs: Date.now(), failures: 1 };
    this.logger.warn(`${this.what} failed (${e instanceof Error ? e.message : String(e)}): ${then}; logged again when it recovers`);
    return true;
  }

  recovered(): void {
    if (this.since === null) return;
    const { atMs, failures } = this.since;
    this.since = null;
    this.logger.warn(`${this.what} works again after ${Math.round((Date.now() - atMs) / 1000)} s: ${failures} failure(s) meanwhile`);
  }
}
