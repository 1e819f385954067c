import { CsvColumns, CsvShape } from '../common/csv';
import { formatMinor } from '../common/money';
import { Direction, TransferKind } from '../ledger/ledger.types';

export type JournalRow = {
  id: string;
  kind: TransferKind;
  pending_id: string | null;
  undoes_id: string | null;
  description: string | null;
  metadata: Record<string, string>;
  created_at: Date;
  created_at_cursor: string;
  seal_seq: string | null;
  seal_hash: Buffer | null;
};

export type JournalEntryRow = { transaction_id: string; code: string; direction: Direction; amount: string; currency: string };

/** A journal transaction's identity and links, under the names the ledger's Transfer and the API document share. */
export function transferLinks(r: Pick<JournalRow, 'id' | 'kind' | 'pending_id' | 'undoes_id' | 'description'>) {
  return { id: r.id, kind: r.kind, pendingId: r.pending_id, undoesId: r.undoes_id, description: r.description };
}

/** A journal transaction with its entries and, once the background sealer reached it, its place in the hash chain. */
export function journalView(r: JournalRow, entries: JournalEntryRow[]) {
  return {
    ...transferLinks(r),
    metadata: r.metadata ?? {},
    createdAt: r.created_at.toISOString(),
    entries: entries.map((e) => ({
      accountCode: e.code,
      direction: e.direction,
      amount: formatMinor(e.amount),
      currency: e.currency.trim(),
    })),
    seal: r.seal_seq === null || r.seal_hash === null ? null : { seq: Number(r.seal_seq), hash: r.seal_hash.toString('hex') },
  };
}

export type JournalView = ReturnType<typeof journalView>;
export type JournalLine = { tx: JournalView; entry: JournalView['entries'][number] };

const LINE_COLUMNS: CsvColumns<JournalLine> = [
  ['transactionId', (l) => l.tx.id],
  ['createdAt', (l) => l.tx.createdAt],
  ['kind', (l) => l.tx.kind],
  ['pendingId', (l) => l.tx.pendingId],
  ['undoesId', (l) => l.tx.undoesId],
  ['description', (l) => l.tx.description],
  ['accountCode', (l) => l.entry.accountCode],
  ['direction', (l) => l.entry.direction],
  ['amount', (l) => l.entry.amount],
  ['currency', (l) => l.entry.currency],
  ['metadata', (l) => JSON.stringify(l.tx.metadata)],
  ['sealSeq', (l) => l.tx.seal?.seq],
];

/** In CSV the journal reads as an accountant's day book: one line per entry, the transaction repeated on each. */
export const JOURNAL_CSV: CsvShape<JournalView, JournalLine> = {
  columns: LINE_COLUMNS,
  lines: (tx) => tx.entries.map((entry) => ({ tx, entry })),
};
