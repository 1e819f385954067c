import type { AuditKeys } from '../ledger/audit-keys';
import { AuditEventsStore } from './audit-events.store';
import { auditContent, auditHash, GENESIS_AUDIT_HASH } from './audit-trail';

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
export async function verifyAuditTrail(events: AuditEventsStore, keys: AuditKeys | null): Promise<AuditTrailVerdict> {
  const broken = (seq: bigint | string, message: string, checked: number): AuditTrailVerdict => ({
    ok: false,
    checkedEvents: checked,
    findings: [{ check: 'auditTrail', row: `audit#${seq}`, message }],
  });
  // The head first, and rows up to it only: events committed meanwhile move the head past what this run reads.
  const head = await events.head();
  if (!head) return broken('0', 'the audit chain head row is missing', 0);
  let prev: Buffer = GENESIS_AUDIT_HASH;
  let expected = 1n;
  for (;;) {
    const rows = await events.range(expected.toString(), head.seq, BATCH);
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
