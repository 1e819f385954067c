import { Injectable, Logger } from '@nestjs/common';
import { Periodic } from '../../common/periodic';
import { pgCode } from '../../database/transaction';
import { PartitionsStore } from './partitions.store';

/** Partitions exist this far ahead: a write at a month's turn finds its partition made weeks before. */
export const MONTHS_AHEAD = 2;
const EVERY_MS = 60 * 60_000;

/** `now` plus `months` calendar months (UTC). */
export function monthsAfter(now: Date, months: number): Date {
  const d = new Date(now);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d;
}

/**
 * The partition maintenance (docs/operations.md, "Partitions and archive"; pg_partman is not installed): at start
 * and every hour, the monthly partitions of journal_entries and account_history are made until MONTHS_AHEAD months
 * from now, one instance at a time. A round that cannot get its brief locks (lock_timeout, 55P03) is left to the next.
 * There is no DEFAULT partition: a write with no partition fails loudly rather than land where every later
 * partition's creation would have to scan it.
 */
@Injectable()
export class PartitionMaintenance {
  private readonly logger = new Logger('PartitionMaintenance');
  private readonly periodic = new Periodic(
    () => this.run(),
    (m) => this.logger.warn(`partition maintenance failed: ${m}`),
  );

  constructor(private readonly store: PartitionsStore) {}

  start(): void {
    void this.run().catch((e: unknown) => this.logger.warn(`partition maintenance failed: ${e instanceof Error ? e.message : String(e)}`));
    this.periodic.start(EVERY_MS);
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  /** One round; the number of partitions made (-1: another instance is at it, or the locks were busy). */
  async run(now = new Date()): Promise<number> {
    try {
      const made = await this.store.ensure(monthsAfter(now, MONTHS_AHEAD));
      if (made > 0) this.logger.log(`made ${made} monthly partition(s) of the journal and the balance history`);
      return made;
    } catch (e) {
      if (pgCode(e) === '55P03') return -1;
      throw e;
    }
  }
}
