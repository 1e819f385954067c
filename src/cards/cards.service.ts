import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { badField, notFound } from '../common/errors';
import { formatMinor } from '../common/money';
import { decodeCursor, encodeCursor, parseDate, parseLimit } from '../common/paging';
import { CARD_ID } from '../card-loads/card-load.dto';
import { cardAccountCode } from '../card-loads/card-loads.service';
import { pendingBalance, postedBalance } from '../ledger/ledger.types';

type HistoryRow = {
  seq: string; at: Date; event: string; load_id: string | null; transaction_id: string | null;
  d_pending_debits: string; d_pending_credits: string; d_posted_debits: string; d_posted_credits: string;
  pending_debits: string; pending_credits: string; posted_debits: string; posted_credits: string;
};

const big = (r: HistoryRow) => ({
  normalSide: 'credit' as const,
  pendingDebits: BigInt(r.pending_debits), pendingCredits: BigInt(r.pending_credits),
  postedDebits: BigInt(r.posted_debits), postedCredits: BigInt(r.posted_credits),
});

/** Card reads come from the balance history, so "now" and "as of" are answered by the same rows. */
@Injectable()
export class CardsService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  private checkId(id: string): void {
    if (!CARD_ID.test(id)) throw badField('enKashCardId', 'must be an EnKash card id: EKC followed by 7 upper-case letters or digits');
  }

  private async account(id: string): Promise<{ id: string; currency: string; created_at: Date }> {
    const rows = await this.ds.query(`SELECT id, currency, created_at FROM accounts WHERE code = $1`, [cardAccountCode(id)]);
    if (rows.length === 0) throw notFound(`card ${id}`);
    return rows[0];
  }

  async balance(enKashCardId: string, asOfRaw?: string) {
    this.checkId(enKashCardId);
    const asOf = parseDate('asOf', asOfRaw);
    const account = await this.account(enKashCardId);
    const rows: HistoryRow[] = await this.ds.query(
      `SELECT * FROM account_history WHERE account_id = $1 ${asOf ? 'AND at <= $2' : ''} ORDER BY seq DESC LIMIT 1`,
      asOf ? [account.id, asOf] : [account.id]);
    // Invariant 10: before the opening row the card did not exist; that is a 404, never a silent zero.
    if (rows.length === 0) throw notFound(`card ${enKashCardId} as of ${asOf!.toISOString()}`);
    const b = big(rows[0]);
    return {
      enKashCardId, currency: account.currency.trim(), posted: formatMinor(postedBalance(b)), pending: formatMinor(pendingBalance(b)),
      asOf: (asOf ?? new Date()).toISOString(),
    };
  }

  async history(enKashCardId: string, q: { from?: string; to?: string; limit?: string; cursor?: string }) {
    this.checkId(enKashCardId);
    const limit = parseLimit(q.limit);
    const from = parseDate('from', q.from);
    const to = parseDate('to', q.to);
    const cursor = decodeCursor(q.cursor, ['number']);
    const account = await this.account(enKashCardId);
    const args: unknown[] = [account.id, cursor ? cursor[0] : 0];
    const where = ['account_id = $1', 'seq > $2'];
    if (from) where.push(`at >= $${args.push(from)}`);
    if (to) where.push(`at < $${args.push(to)}`);
    const rows: HistoryRow[] = await this.ds.query(
      `SELECT * FROM account_history WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${args.push(limit + 1)}`, args);
    const page = rows.slice(0, limit);
    return {
      data: page.map((r) => {
        const postedMove = BigInt(r.d_posted_credits) - BigInt(r.d_posted_debits);
        const pendingMove = BigInt(r.d_pending_credits) - BigInt(r.d_pending_debits);
        return {
          seq: Number(r.seq), at: r.at.toISOString(), event: r.event, loadId: r.load_id, journalTransactionId: r.transaction_id,
          amount: formatMinor(postedMove !== 0n ? postedMove : pendingMove),
          pendingBalance: formatMinor(pendingBalance(big(r))), postedBalance: formatMinor(postedBalance(big(r))),
        };
      }),
      nextCursor: rows.length > limit ? encodeCursor([Number(page[page.length - 1].seq)]) : null,
    };
  }
}
