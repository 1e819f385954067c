import { fieldColumns } from '../common/csv';
import { formatMinor } from '../common/money';
import { Account, Direction, pendingBalance, postedBalance, TransferKind } from '../ledger/ledger.types';

type Balances = Pick<Account, 'normalSide' | 'pendingDebits' | 'pendingCredits' | 'postedDebits' | 'postedCredits'>;

/** What the account may still pay out: the noOverdraft rule of the migration (posted minus pending outflows). */
export function availableBalance(a: Balances): bigint {
  return a.normalSide === 'credit'
    ? a.postedCredits - a.postedDebits - a.pendingDebits
    : a.postedDebits - a.postedCredits - a.pendingCredits;
}

export function accountView(a: Account, balances: Balances = a) {
  return {
    code: a.code,
    name: a.name,
    currency: a.currency.trim(),
    normalSide: a.normalSide,
    noOverdraft: a.noOverdraft,
    createdAt: a.createdAt.toISOString(),
    posted: formatMinor(postedBalance(balances)),
    pending: formatMinor(pendingBalance(balances)),
    available: formatMinor(availableBalance(balances)),
    postedDebits: formatMinor(balances.postedDebits),
    postedCredits: formatMinor(balances.postedCredits),
    pendingDebits: formatMinor(balances.pendingDebits),
    pendingCredits: formatMinor(balances.pendingCredits),
  };
}

export const ACCOUNT_CSV = fieldColumns<AccountView>(
  'code',
  'name',
  'currency',
  'normalSide',
  'noOverdraft',
  'createdAt',
  'posted',
  'pending',
  'available',
  'postedDebits',
  'postedCredits',
  'pendingDebits',
  'pendingCredits',
);

export type AccountView = ReturnType<typeof accountView>;

export type EntryRow = {
  id: string;
  transaction_id: string;
  kind: TransferKind;
  pending_id: string | null;
  undoes_id: string | null;
  description: string | null;
  direction: Direction;
  amount: string;
  currency: string;
  created_at: Date;
};

/** One journal entry on one account; `kind` says whether it reserved (pending), settled or released money. */
export function entryView(r: EntryRow) {
  return {
    id: String(r.id),
    transactionId: r.transaction_id,
    kind: r.kind,
    pendingId: r.pending_id,
    undoesId: r.undoes_id,
    direction: r.direction,
    amount: formatMinor(r.amount),
    currency: r.currency.trim(),
    description: r.description,
    createdAt: r.created_at.toISOString(),
  };
}

export const ENTRY_CSV = fieldColumns<EntryView>(
  'id',
  'transactionId',
  'kind',
  'pendingId',
  'undoesId',
  'direction',
  'amount',
  'currency',
  'description',
  'createdAt',
);

export type EntryView = ReturnType<typeof entryView>;
