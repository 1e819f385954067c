import { Inject, Injectable, Optional } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AUDIT_KEYS, AuditKeys } from '../ledger/audit-keys';
import { AuditEventInput, recordAuditEvent } from './audit-trail';

/**
 * Where features record admin actions: recordAuditEvent() with this process's audit key, so every event carries the
 * MAC the database owner cannot forge. Without a key (an operator's CLI run without AUDIT_SEAL_KEY) events are
 * still chained, and the verifier names them as written without the key.
 */
@Injectable()
export class AuditTrail {
  constructor(@Optional() @Inject(AUDIT_KEYS) private readonly keys: AuditKeys | null = null) {}

  /** Call it last in the action's transaction (audit-trail.ts says why). */
  record(m: EntityManager, e: AuditEventInput): Promise<void> {
    return recordAuditEvent(m, e, this.keys);
  }
}
