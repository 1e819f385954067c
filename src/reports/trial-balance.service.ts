import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ACCOUNT_CODE } from '../accounts/account.dto';
import { KeysetList } from '../common/csv';
import { badField } from '../common/errors';
import { Instant, msIso, parseInstant } from '../common/instant';
import { atOrBeforeSql, checkCursorInstant, checkCursorPart, decodeCursor, encodeCursor, parseLimit } from '../common/paging';
import { LedgerClock } from '../ledger/ledger-clock';
import { TrialBalanceQuery } from './trial-balance.dto';
import {
  AccountBalanceRow, AccountLine, accountLine, CurrencyTotal, currencyTotal, CurrencyTotalRow, TRIAL_BALANCE_CSV, TrialBalanceLine,
} from './trial-balance.view';

export interface TrialBalance {
  asOf: Instant;
  accounts: KeysetList<AccountLine, string, TrialBalanceLine>;
}

/**
 * Each account's balance row as of a moment, from the append-only history: one backward descent of the
 * (account_id, at, seq) index per account (LATERAL ... LIMIT 1), where DISTINCT ON would read every
 * history row up to asOf. Accounts opened after asOf have no row and drop out. Every row of one transfer
 * shares one `at` (LedgerService), so any moment cuts between transfers and the columns balance.
 */
const balancesAsOf = (asOf: string) => `
  FROM accounts a
  CROSS JOIN LATERAL (
    SELECT h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits FROM account_history h
    WHERE h.account_id = a.id AND ${atOrBeforeSql('h.at', asOf)} ORDER BY h.at DESC, h.seq DESC LIMIT 1) h
  WHERE ${atOrBeforeSql('a.created_at', asOf)}`;

@Injectable()
export class TrialBalanceService {
  constructor(@InjectDataSource() private readonly ds: DataSource, private readonly clock: LedgerClock) {}

  /**
   * Without asOf the moment is the database's now. The moment is final before anything is read (docs/time.md)
   * and fixed into every cursor (microseconds), so all pages and the totals describe one moment, for good.
   */
  async prepare(q: TrialBalanceQuery): Promise<TrialBalance> {
    const limit = parseLimit(q.limit);
    const given = parseInstant('asOf', q.asOf);
    const cursor = decodeCursor(q.cursor, ['string', 'string']);
    if (cursor) {
      checkCursorInstant(String(cursor[0]));
      checkCursorPart(ACCOUNT_CODE.test(String(cursor[1])));
    }
    const fromCursor = cursor ? parseInstant('cursor', String(cursor[0]))! : null;
    if (fromCursor && given && given.iso !== fromCursor.iso) {
      throw badField('cursor', 'belongs to a trial balance of another asOf');
    }
    const asOf = await this.clock.finalCut(fromCursor ?? given);
    return {
      asOf,
      accounts: {
        start: cursor ? String(cursor[1]) : null, limit, csv: TRIAL_BALANCE_CSV, encode: (code) => encodeCursor([asOf.iso, code]),
        fetch: async (after, n) => {
          const rows: AccountBalanceRow[] = await this.ds.query(
            `SELECT a.code, a.name, a.currency, a.normal_side, h.* ${balancesAsOf('$1')} AND a.code > $2 ORDER BY a.code LIMIT $3`,
            [asOf.iso, after ?? '', n + 1]);
          const page = rows.slice(0, n).map(accountLine);
          return { rows: page, next: rows.length > n ? page[page.length - 1].code : null };
        },
        trailer: async () => (await this.totals(asOf)).map((total) => ({ line: 'total' as const, total })),
      },
    };
  }

  async totals(asOf: Instant): Promise<CurrencyTotal[]> {
    const rows: CurrencyTotalRow[] = await this.ds.query(
      `SELECT a.currency, sum(h.posted_debits) AS posted_debits, sum(h.posted_credits) AS posted_credits,
              sum(h.pending_debits) AS pending_debits, sum(h.pending_credits) AS pending_credits,
              sum(greatest(h.posted_debits - h.posted_credits, 0)) AS debit_balance,
              sum(greatest(h.posted_credits - h.posted_debits, 0)) AS credit_balance
       ${balancesAsOf('$1')} GROUP BY a.currency ORDER BY a.currency`, [asOf.iso]);
    return rows.map(currencyTotal);
  }

  /** The JSON report: one page of accounts, and the totals over all of them. */
  async page(tb: TrialBalance) {
    const [page, totals] = await Promise.all([tb.accounts.fetch(tb.accounts.start, tb.accounts.limit), this.totals(tb.asOf)]);
    return {
      asOf: msIso(tb.asOf),
      balanced: totals.every((t) => t.balanced),
      totals,
      data: page.rows,
      nextCursor: page.next === null ? null : tb.accounts.encode(page.next),
    };
  }
}
