import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AccountsStore } from '../accounts/accounts.store';
import { CARD_ID, CARD_ID_MESSAGE } from '../card-loads/card-load.dto';
import { cardAccountCode } from '../card-loads/card-loads.service';
import { KeysetList } from '../common/csv';
import { badField, notFound } from '../common/errors';
import { integerIn } from '../common/integer';
import { formatMinor } from '../common/money';
import { Instant, msIso, nextMicro, parseInstant } from '../common/instant';
import { decodeCursor, keyedList, parseLimit, parseRange } from '../common/paging';
import { balancesAsOf } from '../ledger/balances-as-of';
import { LedgerClock } from '../ledger/ledger-clock';
import { JournalStore } from '../ledger/journal.store';
import { pendingBalance, postedBalance } from '../ledger/ledger.types';
import { CardHistoryQuery, CardSeriesQuery, SERIES_MAX_BUCKETS } from './card.dto';
import { HISTORY_CSV, historyView, HistoryView, seriesPointView } from './card-history.view';

type CardAccount = { id: string; currency: string; created_at: Date };
/** About 100 bytes each: 100,000 cards cost about 10 MB. */
const CARD_ACCOUNT_CACHE_MAX = 100_000;

/** Card reads come from the balance history, so "now" and "as of" are answered by the same rows. */
@Injectable()
export class CardsService {
  constructor(
    private readonly clock: LedgerClock,
    private readonly journal: JournalStore,
    private readonly accountsStore: AccountsStore,
  ) {}

  private checkId(id: string): void {
    if (!CARD_ID.test(id)) throw badField('enKashCardId', CARD_ID_MESSAGE);
  }

  /**
   * Card → account, remembered: a card account is never deleted and its id, currency and opening moment never
   * change, so every read after the first skips a round trip. Only found cards are kept (one may appear later).
   */
  private readonly accounts = new LRUCache<string, CardAccount>({ max: CARD_ACCOUNT_CACHE_MAX });

  private async account(id: string): Promise<CardAccount> {
    const known = this.accounts.get(id);
    if (known) return known;
    const found = await this.accountsStore.findIdentity(cardAccountCode(id));
    if (found === null) throw notFound(`card ${id}`);
    this.accounts.set(id, found);
    return found;
  }

  async balance(enKashCardId: string, asOfRaw?: string) {
    this.checkId(enKashCardId);
    const asOf = parseInstant('asOf', asOfRaw);
    // The cut first: on a replica, one that has replayed past it knows every card open at it (docs/time.md, "Replicas").
    const cut = await this.clock.finalCut(asOf);
    const account = await this.account(enKashCardId);
    const balances = await balancesAsOf(this.clock, this.journal, account.id, cut);
    if (!balances) throw notFound(`card ${enKashCardId} as of ${msIso(cut)}`);
    const b = { normalSide: 'credit' as const, ...balances };
    return {
      enKashCardId,
      currency: account.currency.trim(),
      posted: formatMinor(postedBalance(b)),
      pending: formatMinor(pendingBalance(b)),
      asOf: msIso(cut),
    };
  }

  /**
   * Oldest first (or newest first with `order=desc`), keyset on the per-account sequence (gap-free, append-only): a
   * page never shifts, and changes written while paging oldest first appear after the cursor. `from` and `seqFrom`
   * inclusive, `to` and `seqTo` exclusive (docs/time.md): the seq bounds name exactly the rows of one page (the
   * console's CSV).
   */
  async history(enKashCardId: string, q: CardHistoryQuery): Promise<KeysetList<HistoryView, number>> {
    this.checkId(enKashCardId);
    const limit = parseLimit(q.limit);
    const { from, to } = parseRange(q);
    const seqFrom = parseSeq('seqFrom', q.seqFrom);
    const seqTo = parseSeq('seqTo', q.seqTo);
    const cursor = decodeCursor(q.cursor, ['integer']);
    const desc = q.order === 'desc';
    // Rows come by seq, committed in seq order: only an upper bound in time needs its rows final (docs/time.md). The
    // cut before the lookup: on a replica, one that has replayed past it knows every card open at it.
    await this.clock.notArchived(from);
    if (to) await this.clock.finalBefore(to);
    const account = await this.account(enKashCardId);
    const window = { accountId: account.id, desc, seqFrom, seqTo, fromIso: from?.iso ?? null, toIso: to?.iso ?? null };
    return keyedList(cursor ? Number(cursor[0]) : null, limit, HISTORY_CSV, {
      read: (after, n) => this.journal.historyPage({ ...window, after, limit: n }),
      view: historyView,
      key: (h) => h.seq,
    });
  }

  /**
   * The card's two balances over a window, downsampled on the server so a chart of any history draws at once
   * (docs/console.md, "The balance chart"). The rule is M4 (Jugel et al., VLDB 2014): the window is cut into equal
   * time buckets, and of each bucket only the rows holding the first and last change and the lowest and highest of
   * each balance are kept (at most 6 rows, fewer when one row is several of these), in seq order: drawn at one bucket
   * per pixel, the line through them is the line through every row. The row in force at `from` comes first when one
   * precedes the window, so the line enters it at the right level.
   */
  async series(enKashCardId: string, q: CardSeriesQuery) {
    this.checkId(enKashCardId);
    const { from, to } = parseRange(q);
    const buckets = parseBuckets(q.buckets);
    // The window ends where a final past ends (docs/time.md): at `to`, or just after the cut an asOf read of now would
    // answer, so the chart's last point is the balance that read gives. The cut before the lookup, as in balance().
    await this.clock.notArchived(from);
    let end: Instant;
    if (to) {
      await this.clock.finalBefore(to);
      end = to;
    } else end = nextMicro(await this.clock.finalCut(null));
    const account = await this.account(enKashCardId);
    // The window's ends as the answer states them (milliseconds), so that every row counted is a row considered.
    const w = await this.journal.seriesWindow(account.id, from?.iso ?? null, end.iso);
    if (w.t.getTime() <= w.f.getTime()) throw badField('to', "must be later than from (which defaults to the card's opening)");
    const points = await this.journal.seriesPoints(account.id, w.f, w.t, buckets);
    return {
      enKashCardId,
      currency: account.currency.trim(),
      from: w.f.toISOString(),
      to: w.t.toISOString(),
      buckets,
      rule: 'm4' as const,
      historyRows: Number(points[0]?.total ?? 0),
      points: points.map(seriesPointView),
    };
  }
}

/** A non-negative sequence bound, or null; refused with a 400 naming the field, never handed to SQL as text. */
function parseSeq(field: string, raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return null;
  const seq = integerIn(raw, 0, 999_999_999_999_999);
  if (seq === null) throw badField(field, 'must be a non-negative integer');
  return seq;
}

function parseBuckets(raw: string | undefined): number {
  if (raw === undefined) return 500;
  const buckets = integerIn(raw, 1, SERIES_MAX_BUCKETS);
  if (buckets === null) throw badField('buckets', `must be an integer from 1 to ${SERIES_MAX_BUCKETS}`);
  return buckets;
}
