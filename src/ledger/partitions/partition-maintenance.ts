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
    this.periodic.start(EVERY_MS, { now: true });
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  /** One round; the number of partitions made (-1: another instance is at it, or the locks were busy). */
  async run(now = new Date()): Promise<number> {
    let made = -1;
    try {
      made = await this.store.ensure(monthsAfter(now, MONTHS_AHEAD));
      if (made > 0) this.logger.log(`made ${made} monthly partition(s) of the journal and the balance history`);
    } catch (e) {
      if (pgCode(e) !== '55P03') throw e;
    }
    if (made < 0) await this.warnIfNextMonthMissing(now);
    return made;
  }

  /** A round that made nothing (locks busy, another instance at it) says so when next month has no partition yet. */
  private async warnIfNextMonthMissing(now: Date): Promise<void> {
    const need = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
    const until = await this.store.coveredUntil();
    if (until === null || until.getTime() < need.getTime()) {
      this.logger.warn(
        `next month's partition of the journal or the balance history is missing (partitions end ${until?.toISOString() ?? 'nowhere'}): ` +
          `writes from then on will fail; the maintenance retries hourly, or run it after checking its locks`,
      );
    }
  }
}
