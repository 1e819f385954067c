export type Direction = 'debit' | 'credit';
export type NormalSide = 'debit' | 'credit';
export type TransferKind = 'pending' | 'post_pending' | 'void_pending' | 'posted';
export type HistoryEvent = 'load_pending' | 'load_posted' | 'load_reversed' | 'load_undone' | 'journal';

export interface AccountSpec {
  code: string;
  currency: string;
  normalSide: NormalSide;
  noOverdraft?: boolean;
  name?: string | null;
}

export interface Account {
  id: string;
  code: string;
  currency: string;
  normalSide: NormalSide;
  noOverdraft: boolean;
  name: string | null;
  createdAt: Date;
  pendingDebits: bigint;
  pendingCredits: bigint;
  postedDebits: bigint;
  postedCredits: bigint;
  historySeq: bigint;
}

export interface EntryInput {
  accountCode: string;
  direction: Direction;
  amount: bigint;
  currency: string;
}

export interface TransferInput {
  id?: string;
  /** Phase one of a two-phase transfer, or a single-phase posted transfer. */
  kind: 'pending' | 'posted';
  entries: EntryInput[];
  description?: string | null;
  metadata?: Record<string, string>;
  /** The label each touched account's history row carries. */
  event: HistoryEvent;
  loadId?: string | null;
  /** For an undo: the posted transfer this one reverses. */
  undoesId?: string | null;
}

export interface Transfer {
  id: string;
  kind: TransferKind;
  pendingId: string | null;
  undoesId: string | null;
  description: string | null;
  metadata: Record<string, string>;
  createdAt: Date;
  entries: Array<{ accountCode: string; direction: Direction; amount: bigint; currency: string }>;
}

/** Balance of an account in its normal direction. */
export function postedBalance(a: { normalSide: NormalSide; postedDebits: bigint; postedCredits: bigint }): bigint {
  return a.normalSide === 'credit' ? a.postedCredits - a.postedDebits : a.postedDebits - a.postedCredits;
}

/** What is still pending, net, in the account's normal direction (e.g. loads on their way to a card). */
export function pendingBalance(a: { normalSide: NormalSide; pendingDebits: bigint; pendingCredits: bigint }): bigint {
  return a.normalSide === 'credit' ? a.pendingCredits - a.pendingDebits : a.pendingDebits - a.pendingCredits;
}
