import { Injectable } from '@nestjs/common';
import { fieldColumns, KeysetList } from '../common/csv';
import { decodeCursor, keyedList, parseLimit, parseRange } from '../common/paging';
import { auditFields, AuditEventRow, AuditValue } from './audit-trail';
import { ListAuditEventsQuery } from './audit-events.dto';
import { AuditEventsStore } from './audit-events.store';

export interface AuditEventView {
  seq: number;
  at: string;
  actor: string;
  apiKeyId: string | null;
  action: string;
  subject: string | null;
  requestId: string | null;
  details: Record<string, AuditValue>;
  /** SHA-256 of the previous event's hash and this event's canonical form, hex (docs/audit-trail.md). */
  hash: string;
}

const view = (r: AuditEventRow): AuditEventView => ({ ...auditFields(r), hash: r.hash.toString('hex') });

const AUDIT_EVENT_CSV = fieldColumns<AuditEventView>('seq', 'at', 'actor', 'apiKeyId', 'action', 'subject', 'requestId', 'details', 'hash');

/** GET /v1/audit/events: newest first, keyset on seq (the chain's own order), filters validated before any query. */
@Injectable()
export class AuditEventsService {
  constructor(private readonly events: AuditEventsStore) {}

  list(q: ListAuditEventsQuery): KeysetList<AuditEventView, number> {
    const limit = parseLimit(q.limit);
    const { from, to } = parseRange(q);
    const cursor = decodeCursor(q.cursor, ['integer']);
    const filters = { action: q.action ?? null, subject: q.subject ?? null, fromIso: from?.iso ?? null, toIso: to?.iso ?? null };
    return keyedList(cursor ? Number(cursor[0]) : null, limit, AUDIT_EVENT_CSV, {
      read: (before, n) => this.events.page({ ...filters, before, limit: n }),
      view,
      key: (e) => e.seq,
    });
  }
}
