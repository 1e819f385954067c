import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditEventRow } from './audit-trail';

/** The filters of GET /v1/audit/events, already validated. */
export interface AuditEventsFilter {
  before: number | null;
  action: string | null;
  subject: string | null;
  fromIso: string | null;
  toIso: string | null;
  limit: number;
}

/** audit_events and its chain head audit_chain_head: the audit trail of admin actions (docs/audit-trail.md). */
@Injectable()
export class AuditEventsStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /**
   * The chain head, locked until the caller's transaction ends (AuditTrail.record says why last), with the moment the
   * next event takes: the database's, to the millisecond the row stores.
   */
  async lockHead(m: EntityManager): Promise<{ seq: string; hash: Buffer; at: Date } | undefined> {
    const [head]: Array<{ seq: string; hash: Buffer; at: Date }> = await m.query(
      `SELECT seq, hash, date_trunc('milliseconds', clock_timestamp()) AS at FROM audit_chain_head WHERE id = 1 FOR UPDATE`,
    );
    return head;
  }

  /** Appends one event; the database refuses a row that does not continue the head (migration 1765010000000). */
  async append(m: EntityManager, row: AuditEventRow): Promise<void> {
    await m.query(
      `INSERT INTO audit_events (seq, at, actor, api_key_id, action, subject, request_id, details, prev_hash, hash, mac)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        row.seq,
        row.at,
        row.actor,
        row.api_key_id,
        row.action,
        row.subject,
        row.request_id,
        JSON.stringify(row.details),
        row.prev_hash,
        row.hash,
        row.mac,
      ],
    );
  }

  /** The chain head as committed (the verifier reads it before the rows). */
  async head(): Promise<{ seq: string; hash: Buffer } | undefined> {
    const [head]: Array<{ seq: string; hash: Buffer }> = await this.ds.query(`SELECT seq, hash FROM audit_chain_head WHERE id = 1`);
    return head;
  }

  /** Events from `from` up to `to`, in chain order, at most `limit`. */
  async range(from: string, to: string, limit: number): Promise<AuditEventRow[]> {
    return this.ds.query(
      `SELECT seq, at, actor, api_key_id, action, subject, request_id, details, prev_hash, hash, mac FROM audit_events
       WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3`,
      [from, to, limit],
    );
  }

  /** One page, newest first, plus one row to tell whether there is a next page. */
  async page(f: AuditEventsFilter): Promise<AuditEventRow[]> {
    return this.ds.query(
      `SELECT * FROM audit_events
       WHERE ($1::bigint IS NULL OR seq < $1) AND ($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR subject = $3)
         AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
       ORDER BY seq DESC LIMIT $6`,
      [f.before, f.action, f.subject, f.fromIso, f.toIso, f.limit + 1],
    );
  }
}
