import { Injectable } from '@nestjs/common';
import { csvOf, KeysetList } from '../common/csv';
import { decodeCursor, encodeCursor, parseLimit, parseRange } from '../common/paging';
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

const AUDIT_EVENT_CSV = csvOf<AuditEventView>([
  ['seq', (e) => e.seq],
  ['at', (e) => e.at],
  ['actor', (e) => e.actor],
  ['apiKeyId', (e) => e.apiKeyId],
  ['action', (e) => e.action],
  ['subject', (e) => e.subject],
  ['requestId', (e) => e.requestId],
  ['details', (e) => JSON.stringify(e.details)],
  ['hash', (e) => e.hash],
]);

/** GET /v1/audit/events: newest first, keyset on seq (the chain's own order), filters validated before any query. */
@Injectable()
export class AuditEventsService {
  constructor(private readonly events: AuditEventsStore) {}

  list(q: ListAuditEventsQuery): KeysetList<AuditEventView, number> {
    const limit = parseLimit(q.limit);
    const { from, to } = parseRange(q);
    const cursor = decodeCursor(q.cursor, ['integer']);
    return {
      start: cursor ? Number(cursor[0]) : null,
      limit,
      csv: AUDIT_EVENT_CSV,
      encode: (seq) => encodeCursor([seq]),
      fetch: async (before, n) => {
        const rows = await this.events.page({
          before,
          action: q.action ?? null,
          subject: q.subject ?? null,
          fromIso: from?.iso ?? null,
          toIso: to?.iso ?? null,
          limit: n,
        });
        const page = rows.slice(0, n).map(view);
        return { rows: page, next: rows.length > n ? page[page.length - 1].seq : null };
      },
    };
  }
}
