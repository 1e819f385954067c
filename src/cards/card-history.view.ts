import { fieldColumns } from '../common/csv';
import { formatMinor } from '../common/money';
import { pendingBalance, postedBalance } from '../ledger/ledger.types';

export type HistoryRow = {
  seq: string;
  at: Date;
  event: string;
  load_id: string | null;
  transaction_id: string | null;
  description: string | null;
  d_pending_debits: string;
  d_pending_credits: string;
  d_posted_debits: string;
  d_posted_credits: string;
  pending_debits: string;
  pending_credits: string;
  posted_debits: string;
  posted_credits: string;
};

/** A card is credit-normal: a load credits it (docs/design.md, "A load's life", step 1). */
const cardBalances = (r: HistoryRow) => ({
  normalSide: 'credit' as const,
  pendingDebits: BigInt(r.pending_debits),
  pendingCredits: BigInt(r.pending_credits),
  postedDebits: BigInt(r.posted_debits),
  postedCredits: BigInt(r.posted_credits),
});

/**
 * One balance change. `amount` is the posted movement when posted money moved (a posting, an undo),
 * else the pending one (a load reserved, or released by a reversal: negative).
 */
export function historyView(r: HistoryRow) {
  const postedMove = BigInt(r.d_posted_credits) - BigInt(r.d_posted_debits);
  const pendingMove = BigInt(r.d_pending_credits) - BigInt(r.d_pending_debits);
  return {
    seq: Number(r.seq),
    at: r.at.toISOString(),
    event: r.event,
    loadId: r.load_id,
    journalTransactionId: r.transaction_id,
    amount: formatMinor(postedMove !== 0n ? postedMove : pendingMove),
    pendingBalance: formatMinor(pendingBalance(cardBalances(r))),
    postedBalance: formatMinor(postedBalance(cardBalances(r))),
    description: r.description,
  };
}

export const HISTORY_CSV = fieldColumns<HistoryView>(
  'seq',
  'at',
  'event',
  'loadId',
  'journalTransactionId',
  'amount',
  'pendingBalance',
  'postedBalance',
  'description',
);

export type HistoryView = ReturnType<typeof historyView>;

export type SeriesRow = Pick<HistoryRow, 'seq' | 'at' | 'pending_debits' | 'pending_credits' | 'posted_debits' | 'posted_credits'>;

/** One kept row of the balance series: the balances after that change, as the history row shows them. */
export function seriesPointView(r: SeriesRow) {
  const b = cardBalances(r as HistoryRow);
  return {
    seq: Number(r.seq),
    at: r.at.toISOString(),
    pendingBalance: formatMinor(pendingBalance(b)),
    postedBalance: formatMinor(postedBalance(b)),
  };
}
