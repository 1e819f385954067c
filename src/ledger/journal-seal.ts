import { createHash } from 'node:crypto';

/**
 * Tamper evidence (docs/design.md invariant 8, docs/audit.md). Each journal transaction's content (header and
 * entries, in a canonical text form) is hashed, and each seal chains that hash to the previous seal:
 *   hash(n) = SHA-256(prev_hash || content_hash || seq)
 * and carries mac(n) = HMAC-SHA256(audit key, "<seq>:" || hash(n)) (audit-keys.ts). The chain is public
 * arithmetic (an auditor recomputes it); the MAC is what the database's owner cannot recompute.
 * Sealer and verifier both read content through SEAL_CONTENT_COLUMNS (SealsStore), so they cannot disagree about the form.
 */
export const GENESIS_HASH = Buffer.alloc(32, 0);

export interface SealContentRow {
  id: string;
  kind: string;
  pending_id: string | null;
  undoes_id: string | null;
  description: string | null;
  metadata: Record<string, unknown>;
  created_at_utc: string;
  entries: Array<{ code: string; direction: string; amount: string; currency: string }>;
}

/** created_at as the content carries it: UTC with microseconds (a JS Date would drop them). */
export const SEAL_CREATED_AT_SQL = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * A string as Postgres stores it from node-pg: UTF-8 encoding turns a lone surrogate into U+FFFD, so a writer
 * hashing its own input must hash that, or the verifier, reading the stored text, would see another content.
 */
export const asStored = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

/**
 * The columns of a SealContentRow, for a journal_transactions row aliased `t` (entries in insertion order), with the
 * entries read from `entries` (an archived month's table, for the verifier: docs/audit.md, "Archived months").
 */
export const sealContentColumns = (
  entries = 'journal_entries',
): string => `t.id, t.kind, t.pending_id, t.undoes_id, t.description, t.metadata,
  ${SEAL_CREATED_AT_SQL('t.created_at')} AS created_at_utc,
  coalesce((SELECT json_agg(json_build_object('code', a.code, 'direction', e.direction,
             'amount', e.amount::text, 'currency', e.currency) ORDER BY e.id)
            FROM ${entries} e JOIN accounts a ON a.id = e.account_id
            WHERE e.transaction_id = t.id), '[]'::json) AS entries`;

export const SEAL_CONTENT_COLUMNS = sealContentColumns();

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
    .join(',')}}`;
}

export function contentHash(row: SealContentRow): Buffer {
  const text = canonical({
    id: row.id,
    kind: row.kind,
    pendingId: row.pending_id,
    undoesId: row.undoes_id,
    description: row.description,
    metadata: row.metadata,
    createdAt: row.created_at_utc,
    entries: row.entries.map((e) => ({ ...e, currency: e.currency.trim() })),
  });
  return createHash('sha256').update(text).digest();
}

export function chainHash(prev: Buffer, content: Buffer, seq: bigint): Buffer {
  return createHash('sha256').update(prev).update(content).update(seq.toString()).digest();
}
