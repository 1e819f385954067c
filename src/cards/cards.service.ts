import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CARD_ID, CARD_ID_MESSAGE } from '../card-loads/card-load.dto';
import { cardAccountCode } from '../card-loads/card-loads.service';
import { csvOf, KeysetList } from '../common/csv';
import { badField, notFound } from '../common/errors';
import { TimeRangeListQuery } from '../common/list-query';
import { formatMinor } from '../common/money';
import { msIso, parseInstant } from '../common/instant';
import { decodeCursor, encodeCursor, parseLimit, parseRange } from '../common/paging';
import { balancesAsOf } from '../ledger/balances-as-of';
import { LedgerClock } from '../ledger/ledger-clock';
import { pendingBalance, postedBalance } from '../ledger/ledger.types';
import { HISTORY_CSV, HistoryRow, historyView, HistoryView } from './card-history.view';

type CardAccount = { id: string; currency: string; created_at: Date };
/** About 100 bytes each: 100,000 cards cost about 10 MB. */
const CARD_ACCOUNT_CACHE_MAX = 100_000;

/** Card reads come from the balance history, so "now" and "as of" are answered by the same rows. */
@Injectable()
export class CardsService {
  constructor(@InjectDataSource() private readonly ds: DataSource, private readonly clock: LedgerClock) {}

  private checkId(id: string): void {
    if (!CARD_ID.test(id)) throw badField('enKashCardId', CARD_ID_MESSAGE);
  }

  /**
   * Card → account, remembered: a card account is never deleted and its id, currency and opening moment never
   * change, so every read after the first skips a round trip. Only found cards are kept (one may appear later).
   */
  private readonly accounts = new Map<string, CardAccount>();

  private async account(id: string): Promise<CardAccount> {
    const known = this.accounts.get(id);
    if (known) return known;
    const rows: CardAccount[] = await this.ds.query(`SELECT id, currency, created_at FROM accounts WHERE code = $1`, [cardAccountCode(id)]);
    if (rows.length === 0) throw notFound(`card ${id}`);
    if (this.accounts.size >= CARD_ACCOUNT_CACHE_MAX) this.accounts.delete(this.accounts.keys().next().value!);
    this.accounts.set(id, rows[0]);
    return rows[0];
  }

  async balance(enKashCardId: string, asOfRaw?: string) {
    this.checkId(enKashCardId);
    const asOf = parseInstant('asOf', asOfRaw);
    const account = await this.account(enKashCardId);
    const cut = await this.clock.finalCut(asOf);
    const balances = await balancesAsOf(this.ds, account.id, cut);
    if (!balances) throw notFound(`card ${enKashCardId} as of ${msIso(cut)}`);
    const b = { normalSide: 'credit' as const, ...balances };
    return {
      enKashCardId, currency: account.currency.trim(), posted: formatMinor(postedBalance(b)), pending: formatMinor(pendingBalance(b)),
      asOf: msIso(cut),
    };
  }

  /**
   * Oldest first, keyset on the per-account sequence (gap-free, append-only): a page never shifts, and
   * changes written while paging appear after the cursor. `from` inclusive, `to` exclusive (docs/time.md).
   */
  async history(enKashCardId: string, q: TimeRangeListQuery): Promise<KeysetList<HistoryView, number>> {
    this.checkId(enKashCardId);
    const limit = parseLimit(q.limit);
    const { from, to } = parseRange(q);
    const cursor = decodeCursor(q.cursor, ['integer']);
    const account = await this.account(enKashCardId);
    // Rows come by seq, committed in seq order: only an upper bound in time needs its rows final (docs/time.md).
    if (to) await this.clock.finalBefore(to);
    return {
      start: cursor ? Number(cursor[0]) : null, limit, csv: csvOf(HISTORY_CSV), encode: (seq) => encodeCursor([seq]),
      fetch: async (after, n) => {
        const args: unknown[] = [account.id, after ?? 0];
        const where = ['h.account_id = $1', 'h.seq > $2'];
        if (from) where.push(`h.at >= $${args.push(from.iso)}::timestamptz`);
        if (to) where.push(`h.at < $${args.push(to.iso)}::timestamptz`);
        const rows: HistoryRow[] = await this.ds.query(
          `SELECT h.*, t.description FROM account_history h LEFT JOIN journal_transactions t ON t.id = h.transaction_id
           WHERE ${where.join(' AND ')} ORDER BY h.seq LIMIT $${args.push(n + 1)}`, args);
        const page = rows.slice(0, n).map(historyView);
        return { rows: page, next: rows.length > n ? page[page.length - 1].seq : null };
      },
    };
  }
}
