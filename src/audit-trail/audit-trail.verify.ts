import { DataSource } from 'typeorm';
import type { AuditKeys } from '../ledger/audit-keys';
import { auditContent, auditHash, AuditEventRow, GENESIS_AUDIT_HASH } from './audit-trail';

/** One thing found wrong, naming its row (`audit#<seq>`): the shape of the ledger verifier's findings. */
export interface AuditTrailFinding {
  check: 'auditTrail';
  row: string;
  message: string;
}

export interface AuditTrailVerdict {
  ok: boolean;
  checkedEvents: number;
  findings: AuditTrailFinding[];
}

const BATCH = 2000;

/**
 * Walks the audit trail from its first row: every row numbered one after the last, linked to the previous row's
 * hash, and hashing to what it stores; the chain head where the last row is (a row removed from the end shows
 * there). Stops at the first broken link: what follows it cannot be trusted. Reads only; safe while admins act.
 *
 * The hashes are public arithmetic: the database owner could rewrite every row and recompute them. With the audit
 * key (`keys`), every row's MAC is checked too, which nobody without the key can make (docs/audit-trail.md).
 */
export async function verifyAuditTrail(ds: DataSource, keys: AuditKeys | null): Promise<AuditTrailVerdict> {
  const broken = (seq: bigint | string, message: string, checked: number): AuditTrailVerdict => ({
    ok: false,
    checkedEvents: checked,
    findings: [{ check: 'auditTrail', row: `audit#${seq}`, message }],
  });
  // The head first, and rows up to it only: events committed meanwhile move the head past what this run reads.
  const [head]: Array<{ seq: string; hash: Buffer }> = await ds.query(`SELECT seq, hash FROM audit_chain_head WHERE id = 1`);
  if (!head) return broken('0', 'the audit chain head row is missing', 0);
  let prev: Buffer = GENESIS_AUDIT_HASH;
  let expected = 1n;
  for (;;) {
    const rows: AuditEventRow[] = await ds.query(
      `SELECT seq, at, actor, api_key_id, action, subject, request_id, details, prev_hash, hash, mac FROM audit_events
       WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3`,
      [expected.toString(), head.seq, BATCH],
    );
    for (const r of rows) {
      const checked = Number(expected - 1n);
      if (BigInt(r.seq) !== expected) return broken(expected, `audit event ${expected} is missing (the next row is ${r.seq})`, checked);
      if (!r.prev_hash.equals(prev)) return broken(r.seq, 'audit event does not link to the previous event', checked);
      const hash = auditHash(prev, auditContent(r));
      if (!hash.equals(r.hash)) return broken(r.seq, 'audit event differs from what was recorded (its hash does not match)', checked);
      // Every event this release writes carries the MAC: one without it was written, or rewritten, without the audit key.
      if (keys && !keys.eventMacMatches(BigInt(r.seq), r.hash, r.mac)) {
        return broken(
          r.seq,
          r.mac === null
            ? 'audit event carries no MAC: written without the audit key (an operator CLI run without AUDIT_SEAL_KEY), ' +
                'or its MAC was removed'
            : 'audit event MAC does not match: written or rewritten without the audit key',
          checked,
        );
      }
      prev = r.hash;
      expected += 1n;
    }
    if (rows.length < BATCH) break;
  }
  const checked = Number(expected - 1n);
  if (expected - 1n !== BigInt(head.seq)) {
    return broken(expected, `the audit trail ends at event ${expected - 1n} but its head says ${head.seq}: events were removed`, checked);
  }
  if (!prev.equals(head.hash)) return broken(head.seq, 'the audit chain head does not match the last event', checked);
  return { ok: true, checkedEvents: checked, findings: [] };
}
