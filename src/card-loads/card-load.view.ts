import { fieldColumns } from '../common/csv';
import { formatMinor } from '../common/money';
import { LoadStatus } from './card-load.dto';

export type CardLoadRow = {
  id: string;
  reference: string;
  api_key_id: string;
  idempotency_key: string;
  request_hash: Buffer;
  en_kash_card_id: string;
  company_id: string;
  card_account_id: string;
  amount: string;
  currency: string;
  status: LoadStatus;
  status_reason: string | null;
  attempts: number;
  journal_transaction_id: string;
  description: string | null;
  remarks: string | null;
  metadata: Record<string, string>;
  created_at: Date;
  updated_at: Date;
  posted_at: Date | null;
  reversed_at: Date | null;
  undone_at: Date | null;
  request_id?: string | null;
  created_at_cursor?: string;
};

export type LoadEventRow = {
  id: string;
  at: Date;
  type: string;
  outcome: string | null;
  http_status: number | null;
  code: string | null;
  message: string | null;
  duration_ms: number | null;
  actor: string | null;
};

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** The load document of API.md, shared by the intake reply, reads, lists and webhooks. */
export function cardLoadView(r: CardLoadRow) {
  return {
    id: r.id,
    reference: r.reference,
    enKashCardId: r.en_kash_card_id,
    companyId: r.company_id,
    cardAccountId: r.card_account_id,
    amount: formatMinor(r.amount),
    currency: r.currency.trim(),
    status: r.status,
    attempts: r.attempts,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    postedAt: iso(r.posted_at),
    reversedAt: iso(r.reversed_at),
    undoneAt: iso(r.undone_at),
    statusReason: r.status_reason,
    journalTransactionId: r.journal_transaction_id,
    description: r.description,
    remarks: r.remarks,
    metadata: r.metadata ?? {},
  };
}

export const CARD_LOAD_CSV = fieldColumns<CardLoadView>(
  'id',
  'reference',
  'enKashCardId',
  'companyId',
  'cardAccountId',
  'amount',
  'currency',
  'status',
  'attempts',
  'createdAt',
  'updatedAt',
  'postedAt',
  'reversedAt',
  'undoneAt',
  'statusReason',
  'journalTransactionId',
  'description',
  'remarks',
  'metadata',
);

export type CardLoadView = ReturnType<typeof cardLoadView>;

export function loadEventView(e: LoadEventRow) {
  return {
    at: e.at.toISOString(),
    type: e.type,
    outcome: e.outcome,
    httpStatus: e.http_status,
    code: e.code,
    message: e.message,
    durationMs: e.duration_ms,
    actor: e.actor,
  };
}
