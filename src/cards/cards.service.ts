import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CARD_ID, CARD_ID_MESSAGE } from '../card-loads/card-load.dto';
import { cardAccountCode } from '../card-loads/card-loads.service';
import { csvOf, KeysetList } from '../common/csv';
import { badField, notFound } from '../common/errors';
import { formatMinor } from '../common/money';
import { Instant, msIso, nextMicro, parseInstant } from '../common/instant';
import { decodeCursor, encodeCursor, parseLimit, parseRange } from '../common/paging';
import { balancesAsOf } from '../ledger/balances-as-of';
import { LedgerClock } from '../ledger/ledger-clock';
import { pendingBalance, postedBalance } from '../ledger/ledger.types';
import { CardHistoryQuery, CardSeriesQuery, SERIES_MAX_BUCKETS } from './card.dto';
import { HISTORY_CSV, HistoryRow, historyView, HistoryView, SeriesRow, seriesPointView } from './card-history.view';

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
    const account = await this.account(enKashCardId);
    // Rows come by seq, committed in seq order: only an upper bound in time needs its rows final (docs/time.md).
    if (to) await this.clock.finalBefore(to);
    return {
      start: cursor ? Number(cursor[0]) : null, limit, csv: csvOf(HISTORY_CSV), encode: (seq) => encodeCursor([seq]),
      fetch: async (after, n) => {
        const args: unknown[] = [account.id];
        // The opening row (seq 0) is not a change: history starts after it.
        const where = ['h.account_id = $1', 'h.seq > 0'];
        if (after !== null) where.push(`h.seq ${desc ? '<' : '>'} $${args.push(after)}`);
        if (seqFrom !== null) where.push(`h.seq >= $${args.push(seqFrom)}`);
        if (seqTo !== null) where.push(`h.seq < $${args.push(seqTo)}`);
        if (from) where.push(`h.at >= $${args.push(from.iso)}::timestamptz`);
        if (to) where.push(`h.at < $${args.push(to.iso)}::timestamptz`);
        const rows: HistoryRow[] = await this.ds.query(
          `SELECT h.*, t.description FROM account_history h LEFT JOIN journal_transactions t ON t.id = h.transaction_id
           WHERE ${where.join(' AND ')} ORDER BY h.seq ${desc ? 'DESC' : 'ASC'} LIMIT $${args.push(n + 1)}`, args);
        const page = rows.slice(0, n).map(historyView);
        return { rows: page, next: rows.length > n ? page[page.length - 1].seq : null };
      },
    };
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
    const account = await this.account(enKashCardId);
    // The window ends where a final past ends (docs/time.md): at `to`, or just after the cut an asOf read of now would
    // answer, so the chart's last point is the balance that read gives.
    let end: Instant;
    if (to) {
      await this.clock.finalBefore(to);
      end = to;
    } else end = nextMicro(await this.clock.finalCut(null));
    // The window's ends as the answer states them (milliseconds), so that every row counted is a row considered.
    const [w]: Array<{ f: Date; t: Date }> = await this.ds.query(
      `SELECT coalesce($2::timestamptz, (SELECT min(at) FROM account_history WHERE account_id = $1)) AS f,
              $3::timestamptz AS t`, [account.id, from?.iso ?? null, end.iso]);
    if (w.t.getTime() <= w.f.getTime()) throw badField('to', 'must be later than from (which defaults to the card\'s opening)');
    const points: Array<SeriesRow & { total: string }> = await this.ds.query(
      `WITH h AS (
         SELECT seq, posted_credits - posted_debits AS posted, pending_credits - pending_debits AS pending,
                width_bucket(extract(epoch FROM at), extract(epoch FROM $2::timestamptz), extract(epoch FROM $3::timestamptz), $4) AS b
         FROM account_history WHERE account_id = $1 AND at >= $2 AND at < $3),
       kept AS (
         SELECT DISTINCT unnest(ARRAY[min(seq), max(seq), (min(ARRAY[posted, seq]))[2], (max(ARRAY[posted, -seq]))[2] * -1,
                                      (min(ARRAY[pending, seq]))[2], (max(ARRAY[pending, -seq]))[2] * -1]) AS seq
         FROM h GROUP BY b
         UNION
         (SELECT seq FROM account_history WHERE account_id = $1 AND at < $2 ORDER BY at DESC, seq DESC LIMIT 1))
       SELECT h.seq, h.at, h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits, (SELECT count(*) FROM h) AS total
       FROM kept JOIN account_history h ON h.account_id = $1 AND h.seq = kept.seq ORDER BY h.seq`,
      [account.id, w.f, w.t, buckets]);
    return {
      enKashCardId, currency: account.currency.trim(), from: w.f.toISOString(), to: w.t.toISOString(), buckets, rule: 'm4' as const,
      historyRows: Number(points[0]?.total ?? 0), points: points.map(seriesPointView),
    };
  }
}

/** A non-negative sequence bound, or null; refused with a 400 naming the field, never handed to SQL as text. */
function parseSeq(field: string, raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return null;
  if (!/^\d{1,15}$/.test(raw)) throw badField(field, 'must be a non-negative integer');
  return Number(raw);
}

function parseBuckets(raw: string | undefined): number {
  if (raw === undefined) return 500;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > SERIES_MAX_BUCKETS) {
    throw badField('buckets', `must be an integer from 1 to ${SERIES_MAX_BUCKETS}`);
  }
  return Number(raw);
}
