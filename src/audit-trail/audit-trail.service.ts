import { Inject, Injectable, Optional } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { AUDIT_KEYS, AuditKeys } from '../ledger/audit-keys';
import { AuditEventsStore } from './audit-events.store';
import { AuditEventInput, auditEventRow, checkAuditDetails } from './audit-trail';

/**
 * Where features record admin actions, with this process's audit key, so every event carries the MAC the database
 * owner cannot forge. Without a key (an operator's CLI run without AUDIT_SEAL_KEY) events are still chained, and the
 * verifier names them as written without the key.
 */
@Injectable()
export class AuditTrail {
  constructor(
    private readonly events: AuditEventsStore,
    @Optional() @Inject(AUDIT_KEYS) private readonly keys: AuditKeys | null = null,
  ) {}

  /**
   * Appends one event to the chain, in the caller's transaction (audit-trail.ts). Locks the chain head until that
   * transaction ends: call it last in the transaction (after every other row lock), so that admin actions queue on it
   * and never deadlock on it. The database refuses a row that does not continue the head (migration 1765010000000).
   */
  async record(m: EntityManager, e: AuditEventInput): Promise<void> {
    checkAuditDetails(e.details);
    const head = await this.events.lockHead(m);
    assert(head, 'the audit chain has a head row (migration 1765010000000)');
    await this.events.append(m, auditEventRow(head, e, this.keys));
  }
}
