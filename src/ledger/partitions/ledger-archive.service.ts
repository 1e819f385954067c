import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { inTransaction } from '../../database/transaction';
import { DataSource } from 'typeorm';
import { InjectDataSource } from '@nestjs/typeorm';
import { ArchiveRow, PartitionsStore, PartitionRow } from './partitions.store';
import { ARCHIVE_POINT_TTL_MS } from './archive-point';

/** Why a month cannot be archived now; the operator's CLI prints it and exits 1. */
export class ArchiveRefused extends Error {}

/** First day of the month `months` before `now`'s month (UTC). */
export function monthsBefore(now: Date, months: number): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1));
}

/**
 * Takes the oldest month of journal_entries and account_history out of the live tables (docs/operations.md,
 * "Partitions and archive"): one month at a time, oldest first, so that one moment — the archive point — divides
 * what is archived from what is live. The seal chain and journal_transactions stay whole (docs/audit.md,
 * "Archived months"); the month's last seal is recorded as its anchor, and each account's last history row before the
 * point is carried over it, so balances as of any later moment stay exact.
 */
@Injectable()
export class LedgerArchiveService {
  private readonly logger = new Logger('LedgerArchive');

  constructor(
    private readonly partitions: PartitionsStore,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  /**
   * Archives the oldest attached month when it ended at least `olderThanMonths` months before `now`'s month; with
   * `month` (its first day) only that one, which must then be the oldest. Returns its ledger_archives row.
   */
  async archiveOldest(opts: { olderThanMonths: number; now?: Date; month?: Date }): Promise<ArchiveRow> {
    const interrupted = (await this.partitions.archives()).find((a) => a.status === 'detaching');
    if (interrupted) {
      const name = (t: string) => t.replace(/^ledger_archive\./, '');
      await this.finish(interrupted, { entries: name(interrupted.entries_table), history: name(interrupted.history_table) });
      return (await this.partitions.archives()).find((a) => a.hi.getTime() === interrupted.hi.getTime())!;
    }
    const now = opts.now ?? new Date();
    const limit = monthsBefore(now, opts.olderThanMonths);
    const oldest = await this.oldestPair();
    if (opts.month && (oldest.entries.lo?.getTime() ?? null) !== opts.month.getTime()) {
      throw new ArchiveRefused(
        `the oldest live month starts ${oldest.entries.lo?.toISOString() ?? 'at the beginning (the legacy partition)'}: ` +
          'months are archived oldest first',
      );
    }
    if (oldest.entries.hi.getTime() > limit.getTime()) {
      throw new ArchiveRefused(
        `the oldest live month ends ${oldest.entries.hi.toISOString()}, later than ${limit.toISOString()} ` +
          `(${opts.olderThanMonths} month(s) before this month): nothing to archive`,
      );
    }
    const hi = oldest.entries.hi;
    const parts = { entries: oldest.entries.part, history: oldest.history.part };
    const cut = await this.partitions.straddling(hi, parts);
    if (cut.unsealed > 0) throw new ArchiveRefused(`${cut.unsealed} transaction(s) before ${hi.toISOString()} are not sealed yet`);
    if (cut.entries > 0 || cut.history > 0) {
      throw new ArchiveRefused(
        `${cut.entries} entr(ies) of the month have another moment than their transaction, ${cut.history} history row(s) ` +
          `after ${hi.toISOString()} belong to a transaction before it: archiving would split a transaction`,
      );
    }
    const open = await this.partitions.openPending(hi);
    if (open.n > 0) {
      throw new ArchiveRefused(
        `${open.n} pending transfer(s) before ${hi.toISOString()} are neither posted nor voided yet ` +
          `(${open.ids.join(', ')}${open.n > open.ids.length ? ', …' : ''}): archive the month once they are settled`,
      );
    }
    const row = await inTransaction(this.ds, (m) => this.partitions.record(m, { lo: oldest.entries.lo, hi, ...parts }));
    // Every instance's cached archive point (archive-point.ts) has moved before a row leaves the live tables.
    await sleep(ARCHIVE_POINT_TTL_MS + 500);
    await this.finish(row, parts);
    this.logger.log(`archived the journal before ${hi.toISOString()} into ${row.entries_table} and ${row.history_table}`);
    return (await this.partitions.archives()).find((a) => a.hi.getTime() === hi.getTime())!;
  }

  /** Detaches (or finishes detaching) and files away a recorded month; safe to run again after an interruption. */
  private async finish(row: ArchiveRow, parts: { entries: string; history: string }): Promise<void> {
    const live = await this.partitions.partitions();
    for (const [parent, part] of [
      ['journal_entries', parts.entries],
      ['account_history', parts.history],
    ] as const) {
      if (live.some((p) => p.part === part)) await this.partitions.detach(parent, part);
    }
    await this.partitions.file(row.hi, [
      { parent: 'journal_entries', part: parts.entries },
      { parent: 'account_history', part: parts.history },
    ]);
  }

  private async oldestPair(): Promise<{ entries: PartitionRow; history: PartitionRow }> {
    const live = await this.partitions.partitions();
    const entries = live.find((p) => p.parent === 'journal_entries');
    const history = live.find((p) => p.parent === 'account_history');
    if (!entries || !history) throw new ArchiveRefused('no partition left to archive');
    if (entries.hi.getTime() !== history.hi.getTime()) {
      throw new ArchiveRefused(`journal_entries and account_history disagree on their oldest month (${entries.part}, ${history.part})`);
    }
    return { entries, history };
  }
}
