import { Command, Option } from 'nest-commander';
import { ApiError } from '../common/errors';
import { ArchiveRefused, LedgerArchiveService } from '../ledger/partitions/ledger-archive.service';
import { CliCommand, JsonOption } from './cli-command';
import { CliUsageError } from './output';

type ArchiveOpts = JsonOption & { olderThan?: number; month?: Date };

/**
 * Takes the oldest month of the journal and the balance history out of the live tables into ledger_archive (DETACH
 * PARTITION … CONCURRENTLY: writes go on), when it ended at least --older-than months ago; docs/operations.md,
 * "Partitions and archive", says what to do with the table next (pg_dump it, verify it, drop it). Exit 1 when
 * nothing is old enough or the month cannot be archived (named).
 */
@Command({
  name: 'archive',
  description: 'detach the oldest month of journal entries and balance history older than N months into ledger_archive',
})
export class ArchiveCommand extends CliCommand {
  constructor(private readonly archive: LedgerArchiveService) {
    super();
  }

  @Option({ flags: '--older-than <months>', description: 'archive only a month that ended at least this many months ago (>= 1)' })
  parseOlderThan(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 1200) throw new CliUsageError('--older-than must be a whole number of months, 1 or more');
    return n;
  }

  @Option({ flags: '--month <yyyy-mm>', description: 'the month expected to be the oldest (refused if it is not)' })
  parseMonth(value: string): Date {
    const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(value);
    if (!m) throw new CliUsageError('--month must be YYYY-MM');
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
  }

  async run(_args: string[], opts: ArchiveOpts): Promise<void> {
    if (opts.olderThan === undefined) throw new CliUsageError('--older-than <months> is required');
    await this.show(
      opts,
      async () => {
        try {
          return await this.archive.archiveOldest({ olderThanMonths: opts.olderThan!, month: opts.month });
        } catch (e) {
          if (e instanceof ArchiveRefused) throw new ApiError('invalid_state', e.message);
          throw e;
        }
      },
      (a) =>
        `archived the journal before ${a.hi.toISOString()}: ${a.entries} entries into ${a.entries_table}, ` +
        `${a.history_rows} history rows into ${a.history_table}; anchor seal #${a.last_seal_seq ?? 'none'}`,
    );
  }
}
