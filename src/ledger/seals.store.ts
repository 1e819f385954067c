import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { byIds } from '../database/by-ids';
import { SEAL_CONTENT_COLUMNS, sealContentColumns, SealContentRow } from './journal-seal';

/** The last seal, as the chain's head. */
export interface SealHead {
  seq: string;
  transaction_id: string;
  hash: Buffer;
  mac: Buffer | null;
}

/** A seal with the content it sealed, as the verifier walks the chain; `present` is false when the transaction is gone. */
export type SealRow = SealContentRow & {
  seq: string;
  transaction_id: string;
  content_hash: Buffer;
  prev_hash: Buffer;
  hash: Buffer;
  mac: Buffer | null;
  present: boolean;
};

/** A signed checkpoint as audit_checkpoints keeps it. */
export interface CheckpointRow {
  seq: number;
  transactionId: string;
  hash: Buffer;
  keyId: string;
  signedAt: string;
  document: string;
  signature: string;
}

/**
 * The seal chain (docs/design.md invariant 8, docs/audit.md): journal_seals and audit_checkpoints. The sealer also
 * takes from the queue journal_unsealed (JournalStore fills it in the writer's transaction), and both sealer and
 * verifier read the journal's content through SEAL_CONTENT_COLUMNS.
 */
@Injectable()
export class SealsStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** The sealer's turn, for the caller's transaction: waits for it (`wait`) or returns false when another run holds it. */
  async lockSealer(m: EntityManager, key: number, wait: boolean): Promise<boolean> {
    const [{ locked }] = await m.query<Array<{ locked: boolean }>>(
      wait ? `SELECT pg_advisory_xact_lock($1)::text IS NOT NULL AS locked` : `SELECT pg_try_advisory_xact_lock($1) AS locked`,
      [key],
    );
    return locked;
  }

  /** The watermark (docs/time.md): waits up to `waitMs` for the newest queued moment to become final. */
  async awaitFinal(m: EntityManager, waitMs: number): Promise<string> {
    const [{ watermark }]: Array<{ watermark: string }> = await m.query(
      `SELECT watermark::text FROM ledger_await_final((SELECT coalesce(max(created_at), '-infinity') FROM journal_unsealed), $1, 1000)`,
      [waitMs],
    );
    return watermark;
  }

  /** The queue before the watermark, in moment order; `content_hash` is null on rows queued by the previous release. */
  async queued(
    m: EntityManager,
    watermark: string,
    limit: number,
  ): Promise<Array<{ transaction_id: string; content_hash: Buffer | null }>> {
    return m.query(
      `SELECT transaction_id, content_hash FROM journal_unsealed WHERE created_at < $2::timestamptz
       ORDER BY created_at, transaction_id LIMIT $1`,
      [limit, watermark],
    );
  }

  /** The sealer's view of the chain's head, in its transaction. */
  async lastSeal(m: EntityManager): Promise<{ seq: string; hash: Buffer; mac: Buffer | null } | undefined> {
    const last: Array<{ seq: string; hash: Buffer; mac: Buffer | null }> = await m.query(
      `SELECT seq, hash, mac FROM journal_seals ORDER BY seq DESC LIMIT 1`,
    );
    return last[0];
  }

  /** The chain's head as committed (the checkpointer signs it). */
  async head(): Promise<SealHead | undefined> {
    const [head]: SealHead[] = await this.ds.query(`SELECT seq, transaction_id, hash, mac FROM journal_seals ORDER BY seq DESC LIMIT 1`);
    return head;
  }

  /** Appends the seals and takes their transactions off the queue, in the sealer's transaction. */
  async append(
    m: EntityManager,
    s: { seqs: string[]; ids: string[]; contents: Buffer[]; prevs: Buffer[]; hashes: Buffer[]; macs: Array<Buffer | null> },
  ): Promise<void> {
    await m.query(
      `INSERT INTO journal_seals (seq, transaction_id, content_hash, prev_hash, hash, mac)
       SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[])`,
      [s.seqs, s.ids, s.contents, s.prevs, s.hashes, s.macs],
    );
    await m.query(`DELETE FROM journal_unsealed u USING unnest($1::uuid[]) AS q(id) WHERE u.transaction_id = q.id`, [s.ids]);
  }

  /** The first seal with a MAC, or null. */
  async firstKeyedSeal(m: EntityManager = this.ds.manager): Promise<number | null> {
    const [k]: Array<{ seq: string | null }> = await m.query(`SELECT min(seq) AS seq FROM journal_seals WHERE mac IS NOT NULL`);
    return k.seq === null ? null : Number(k.seq);
  }

  /** Reads the canonical content of the given transactions. */
  async content(m: EntityManager, ids: string[]): Promise<Map<string, SealContentRow>> {
    const rows: SealContentRow[] = await m.query(`SELECT ${SEAL_CONTENT_COLUMNS} FROM ${byIds('journal_transactions', 't')}`, [ids]);
    return new Map(rows.map((r) => [r.id, r]));
  }

  /** Try-lock `key` for the caller's transaction (one instance at a time records a checkpoint). */
  async tryLock(m: EntityManager, key: number): Promise<boolean> {
    const [{ locked }] = await m.query<Array<{ locked: boolean }>>(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [key]);
    return locked;
  }

  /** Records a checkpoint beyond the newest one; false when it is not (another instance recorded it or a later one). */
  async recordCheckpoint(m: EntityManager, c: CheckpointRow): Promise<boolean> {
    const inserted: unknown[] = await m.query(
      `INSERT INTO audit_checkpoints (seq, transaction_id, hash, key_id, signed_at, document, signature)
       SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $1 > coalesce((SELECT max(seq) FROM audit_checkpoints), 0)
       ON CONFLICT (seq) DO NOTHING RETURNING seq`,
      [c.seq, c.transactionId, c.hash, c.keyId, c.signedAt, c.document, c.signature],
    );
    return inserted.length > 0;
  }

  /** Every recorded checkpoint, oldest first (the verifier holds the chain to each). */
  async checkpoints(): Promise<Array<{ document: string; signature: string }>> {
    return this.ds.query(`SELECT document, signature FROM audit_checkpoints ORDER BY seq`);
  }

  /** One page of checkpoints, newest first, plus one row to tell whether there is a next page. */
  async checkpointPage(
    before: string | number | null,
    limit: number,
  ): Promise<Array<{ seq: string; document: string; signature: string }>> {
    return this.ds.query(
      `SELECT seq, document, signature FROM audit_checkpoints WHERE ($1::bigint IS NULL OR seq < $1) ORDER BY seq DESC LIMIT $2`,
      [before, limit + 1],
    );
  }

  /** Seals from `from` on, with the content of their transactions as it is now. */
  sealsFrom(from: bigint, limit: number): Promise<SealRow[]> {
    return this.ds.query(
      `SELECT s.seq, s.transaction_id, s.content_hash, s.prev_hash, s.hash, s.mac, t.id IS NOT NULL AS present, ${SEAL_CONTENT_COLUMNS}
       FROM journal_seals s LEFT JOIN journal_transactions t ON t.id = s.transaction_id
       WHERE s.seq >= $1 ORDER BY s.seq LIMIT $2`,
      [from.toString(), limit],
    );
  }

  /**
   * The content of archived transactions, their entries read from the archived tables given (schema-qualified names
   * the caller checked exist), for the verifier (docs/audit.md, "Archived months").
   */
  async archivedContent(ids: string[], tables: string[]): Promise<Map<string, SealContentRow>> {
    const entries = `(${tables.map((t) => `SELECT * FROM ${t}`).join(' UNION ALL ')})`;
    const rows: SealContentRow[] = await this.ds.query(`SELECT ${sealContentColumns(entries)} FROM ${byIds('journal_transactions', 't')}`, [
      ids,
    ]);
    // A transaction with no entry in these tables belongs to a month whose table is not among them.
    return new Map(rows.filter((r) => r.entries.length > 0).map((r) => [r.id, r]));
  }

  /** Journal transactions neither sealed nor queued (at most `limit`), each with how many there are in all. */
  async orphans(limit: number): Promise<Array<{ id: string; n: number }>> {
    return this.ds.query(
      `SELECT t.id, count(*) OVER ()::int AS n FROM journal_transactions t
       WHERE NOT EXISTS (SELECT 1 FROM journal_seals s WHERE s.transaction_id = t.id)
         AND NOT EXISTS (SELECT 1 FROM journal_unsealed u WHERE u.transaction_id = t.id)
       ORDER BY t.created_at, t.id LIMIT ${limit}`,
    );
  }

  /** The queue's length, its oldest transaction and that one's age (database time). */
  async queueState(): Promise<{ n: number; oldest: string | null; age_ms: number | null }> {
    const [queue]: Array<{ n: number; oldest: string | null; age_ms: number | null }> = await this.ds.query(
      `SELECT count(*)::int AS n, (array_agg(transaction_id::text ORDER BY created_at, transaction_id))[1] AS oldest,
              (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::float8 AS age_ms
       FROM journal_unsealed`,
    );
    return queue;
  }
}
