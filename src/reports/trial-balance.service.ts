import { Injectable } from '@nestjs/common';
import { ACCOUNT_CODE } from '../accounts/account.dto';
import { KeysetList } from '../common/csv';
import { badField } from '../common/errors';
import { Instant, msIso, parseInstant } from '../common/instant';
import { checkCursorInstant, checkCursorPart, decodeCursor, encodeCursor, parseLimit } from '../common/paging';
import { LedgerClock } from '../ledger/ledger-clock';
import { JournalStore } from '../ledger/journal.store';
import { TrialBalanceQuery } from './trial-balance.dto';
import { AccountLine, accountLine, CurrencyTotal, currencyTotal, TRIAL_BALANCE_CSV, TrialBalanceLine } from './trial-balance.view';

export interface TrialBalance {
  asOf: Instant;
  accounts: KeysetList<AccountLine, string, TrialBalanceLine>;
}

@Injectable()
export class TrialBalanceService {
  constructor(
    private readonly journal: JournalStore,
    private readonly clock: LedgerClock,
  ) {}

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
        start: cursor ? String(cursor[1]) : null,
        limit,
        csv: TRIAL_BALANCE_CSV,
        encode: (code) => encodeCursor([asOf.iso, code]),
        fetch: async (after, n) => {
          const rows = await this.journal.trialBalanceLines(asOf.iso, after ?? '', n, (await this.clock.archivePoint()) !== null);
          const page = rows.slice(0, n).map(accountLine);
          return { rows: page, next: rows.length > n ? page[page.length - 1].code : null };
        },
        trailer: async () => (await this.totals(asOf)).map((total) => ({ line: 'total' as const, total })),
      },
    };
  }

  async totals(asOf: Instant): Promise<CurrencyTotal[]> {
    const rows = await this.journal.trialBalanceTotals(asOf.iso, (await this.clock.archivePoint()) !== null);
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
