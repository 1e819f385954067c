import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Periodic } from '../common/periodic';
import { pgCode } from '../database/transaction';

const EVERY_MS = 60 * 60_000;
/** Accounts per statement: each batch its own short transaction, so a writer of those accounts waits that long at most. */
const BATCH = 1_000;

/**
 * Dates the moved accounts whose last change has no moment on their row (`history_at` NULL: accounts moved before
 * migration 1765460000000, which adds the column without a rewrite), from their last history row (docs/design.md,
 * "The moment of an account's last change"). Until then they are read from their history, which is always right; dated,
 * a read as of a later moment answers from the row. At start and every hour, in batches by id. A writer or another
 * instance racing a batch wins: the batch skips a row dated meanwhile (Postgres rechecks `history_at IS NULL` on the
 * row it waited for), and leaves NULL a row whose last history row its snapshot cannot see yet.
 */
@Injectable()
export class AccountMoments {
  private readonly logger = new Logger('AccountMoments');
  private readonly periodic = new Periodic(
    () => this.run(),
    (m) => this.logger.warn(`dating accounts failed: ${m}`),
  );

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  start(): void {
    this.periodic.start(EVERY_MS, { now: true });
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  /**
   * One pass over the accounts; how many it dated. Every process runs it at start, and once the accounts moved before
   * the migration are dated none is left to date: one scan of `accounts` says so, instead of a pass in batches.
   */
  async run(): Promise<number> {
    try {
      const [{ undated }] = await this.ds.query<Array<{ undated: boolean }>>(
        `SELECT EXISTS (SELECT 1 FROM accounts WHERE history_seq > 0 AND history_at IS NULL) AS undated`,
      );
      if (!undated) return 0;
    } catch (e) {
      if (pgCode(e) === '42703') return 0; // the column's migration has not run yet
      throw e;
    }
    let dated = 0;
    for (let after: string | null = '0'; after !== null;) {
      const rows: Array<{ last: string | null; dated: number }> = await this.ds.query(
        `WITH batch AS (SELECT id FROM accounts WHERE id > $1 ORDER BY id LIMIT ${BATCH}),
                dated AS (
                  UPDATE accounts a SET history_at = coalesce(
                    (SELECT h.at FROM account_history h WHERE h.account_id = a.id AND h.seq = a.history_seq ORDER BY h.at DESC LIMIT 1),
                    (SELECT c.at FROM account_history_carried c WHERE c.account_id = a.id AND c.seq = a.history_seq LIMIT 1))
                  FROM batch b WHERE a.id = b.id AND a.history_seq > 0 AND a.history_at IS NULL RETURNING a.history_at)
           SELECT (SELECT max(id)::text FROM batch) AS last, (SELECT count(history_at)::int FROM dated) AS dated`,
        [after],
      );
      after = rows[0].last;
      dated += rows[0].dated;
    }
    if (dated > 0) this.logger.log(`dated the last change of ${dated} account(s) on their rows`);
    return dated;
  }
}
