import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Caller } from '../auth/scopes';

export type LiveSessionRow = {
  api_key_id: string;
  name: string;
  scopes: Caller['scopes'];
  expires_at: Date;
  max_expires_at: Date;
  now: Date;
};

/** Expired sessions purged per sign-in: bounded work, and sign-ins outnumber what there is to purge. */
const PURGE_BATCH = 100;

/** console_sessions: the console's sign-ins, by the SHA-256 of their id (the id itself is only in the cookie). */
@Injectable()
export class ConsoleSessionsStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** Deletes a bounded batch of expired sessions, oldest first. */
  async purgeExpired(): Promise<void> {
    await this.ds.query(
      `DELETE FROM console_sessions WHERE id_hash IN (
         SELECT id_hash FROM console_sessions WHERE expires_at < clock_timestamp() ORDER BY expires_at LIMIT ${PURGE_BATCH})`,
    );
  }

  /** A session ending after `idleMs` of disuse and after `maxMs` at the latest, by the database's clock. */
  async insert(idHash: Buffer, apiKeyId: string, idleMs: number, maxMs: number): Promise<{ expires_at: Date; max_expires_at: Date }> {
    const [row]: Array<{ expires_at: Date; max_expires_at: Date }> = await this.ds.query(
      `INSERT INTO console_sessions (id_hash, api_key_id, expires_at, max_expires_at)
       VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond', clock_timestamp() + $4 * interval '1 millisecond')
       RETURNING expires_at, max_expires_at`,
      [idHash, apiKeyId, idleMs, maxMs],
    );
    return row;
  }

  async end(idHash: Buffer): Promise<void> {
    await this.ds.query(`UPDATE console_sessions SET ended_at = clock_timestamp() WHERE id_hash = $1 AND ended_at IS NULL`, [idHash]);
  }

  /** The session if it is live and its key is not revoked, with the database's now. */
  async findLive(idHash: Buffer): Promise<LiveSessionRow | null> {
    const rows: LiveSessionRow[] = await this.ds.query(
      `SELECT s.api_key_id, k.name, k.scopes, s.expires_at, s.max_expires_at, clock_timestamp() AS now
       FROM console_sessions s JOIN api_keys k ON k.id = s.api_key_id
       WHERE s.id_hash = $1 AND s.ended_at IS NULL AND s.expires_at > clock_timestamp() AND k.revoked_at IS NULL`,
      [idHash],
    );
    return rows[0] ?? null;
  }

  /** Moves the session's end to `wanted`, never back and never past its maximum; returns the new end, if the row is there. */
  async extend(idHash: Buffer, wanted: Date): Promise<Date | null> {
    const [[moved]]: [Array<{ expires_at: Date }>, number] = await this.ds.query(
      `UPDATE console_sessions SET expires_at = least(greatest(expires_at, $2::timestamptz), max_expires_at)
       WHERE id_hash = $1 RETURNING expires_at`,
      [idHash, wanted],
    );
    return moved ? moved.expires_at : null;
  }
}
