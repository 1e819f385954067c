import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { cursorInstantSql } from '../common/paging';
import { LedgerReads } from '../database/replica/ledger-reads';
import { CardLoadRow, LoadEventRow } from './card-load.view';

/** A new load as intake writes it, with its pending transfer, in one call (intake()). */
export interface NewLoadRow {
  id: string;
  reference: string;
  apiKeyId: string;
  idempotencyKey: string;
  requestHash: Buffer;
  enKashCardId: string;
  companyId: string;
  cardAccountId: string;
  amountMinor: bigint;
  currency: string;
  journalTransactionId: string;
  description: string | null;
  remarks: string | null;
  metadata: Record<string, string>;
  requestId: string | null;
  /** Who created it, for the 'created' event. */
  actor: string;
  /** The description of its pending transfer in the journal. */
  transferDescription: string;
}

/** The call of card_load_intake for `rows`: its SQL and its parameters, one array per column (CardLoadsStore.intake). */
export function cardLoadIntakeCall(rows: NewLoadRow[]): [string, unknown[]] {
  const col = <T>(f: (r: NewLoadRow) => T) => rows.map(f);
  return [
    `SELECT * FROM card_load_intake($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bytea[], $6::text[], $7::text[],
       $8::text[], $9::bigint[], $10::char(3)[], $11::uuid[], $12::text[], $13::text[], $14::jsonb[], $15::text[], $16::text[],
       $17::text[])`,
    [
      col((r) => r.id),
      col((r) => r.reference),
      col((r) => r.apiKeyId),
      col((r) => r.idempotencyKey),
      col((r) => r.requestHash),
      col((r) => r.enKashCardId),
      col((r) => r.companyId),
      col((r) => r.cardAccountId),
      col((r) => r.amountMinor.toString()),
      col((r) => r.currency),
      col((r) => r.journalTransactionId),
      col((r) => r.description),
      col((r) => r.remarks),
      col((r) => JSON.stringify(r.metadata)),
      col((r) => r.requestId),
      col((r) => r.actor),
      col((r) => r.transferDescription),
    ],
  ];
}

/** The list's filters, already validated; `before` is a final cut (docs/time.md) or the caller's createdTo. */
export interface LoadPageFilter {
  owner: string | null;
  status?: string;
  enKashCardId?: string;
  fromIso: string | null;
  beforeIso: string;
  beforeInclusive: boolean;
  asc: boolean;
  cursor: [string, string] | null;
  limit: number;
}

/** A load's row as the paths that change its status see it, under its row lock. */
export type LoadLock = { status: string; journal_transaction_id: string; undone_at: Date | null };

export interface LoadWindowSummary {
  groups: Array<{ currency: string; status: string; count: string; amount: string }>;
  oldest: Array<{ status: string; id: string | null; created_at: Date | null; age_seconds: number | null }>;
  now: Date;
}

/**
 * card_loads and load_events: every read and write of a load's row and its history. The load's outbox job is
 * SyncJobsStore's (sync/), its journal transaction LedgerService's; only intake writes all three, in one call to
 * the database (intake()), because the shared parent account stays locked for every round trip it takes.
 */
@Injectable()
export class CardLoadsStore {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly reads: LedgerReads,
  ) {}

  async findByIdempotencyKey(apiKeyId: string, idempotencyKey: string): Promise<CardLoadRow | null> {
    const rows: CardLoadRow[] = await this.ds.query(`SELECT * FROM card_loads WHERE api_key_id = $1 AND idempotency_key = $2`, [
      apiKeyId,
      idempotencyKey,
    ]);
    return rows[0] ?? null;
  }

  /** The load, if it exists and `owner` (null = anyone) created it. */
  async findVisible(id: string, owner: string | null): Promise<CardLoadRow | null> {
    const rows: CardLoadRow[] = await this.ds.query(`SELECT * FROM card_loads WHERE id = $1 AND ($2::uuid IS NULL OR api_key_id = $2)`, [
      id,
      owner,
    ]);
    return rows[0] ?? null;
  }

  async events(loadId: string): Promise<LoadEventRow[]> {
    return this.ds.query(`SELECT * FROM load_events WHERE load_id = $1 ORDER BY id`, [loadId]);
  }

  /** These loads and their histories (by load, in order), in the caller's transaction: the webhook outbox's documents. */
  async withEvents(
    m: EntityManager,
    loadIds: string[],
  ): Promise<{ loads: CardLoadRow[]; events: Array<LoadEventRow & { load_id: string }> }> {
    const loads: CardLoadRow[] = await m.query(`SELECT * FROM card_loads WHERE id = ANY ($1::uuid[])`, [loadIds]);
    const events: Array<LoadEventRow & { load_id: string }> = await m.query(
      `SELECT * FROM load_events WHERE load_id = ANY ($1::uuid[]) ORDER BY load_id, id`,
      [loadIds],
    );
    return { loads, events };
  }

  /** One keyset page on (created_at, id), plus one row to tell whether there is a next page. */
  async page(f: LoadPageFilter): Promise<CardLoadRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    if (f.owner) where.push(`api_key_id = ${arg(f.owner)}`);
    if (f.status) where.push(`status = ${arg(f.status)}`);
    if (f.enKashCardId) where.push(`en_kash_card_id = ${arg(f.enKashCardId)}`);
    if (f.fromIso) where.push(`created_at >= ${arg(f.fromIso)}::timestamptz`);
    where.push(`created_at ${f.beforeInclusive ? '<=' : '<'} ${arg(f.beforeIso)}::timestamptz`);
    if (f.cursor) where.push(`(created_at, id) ${f.asc ? '>' : '<'} (${arg(f.cursor[0])}::timestamptz, ${arg(f.cursor[1])}::uuid)`);
    return this.reads.query(
      `SELECT *, ${cursorInstantSql('created_at')} AS created_at_cursor
       FROM card_loads WHERE ${where.join(' AND ')}
       ORDER BY created_at ${f.asc ? 'ASC' : 'DESC'}, id ${f.asc ? 'ASC' : 'DESC'} LIMIT ${arg(f.limit + 1)}`,
      args,
    );
  }

  /**
   * A batch of new loads in one call (card_load_intake, migration 1765200000000): if any idempotency key is
   * already taken, the loads holding them are returned and nothing is written; else the loads, their 'created'
   * events, outbox jobs, accounts, pending transfers, balances and history are written at one moment and the new
   * loads returned. A key committed by a concurrent transaction meanwhile fails the call with SQLSTATE CLR01.
   */
  async intake(m: EntityManager, rows: NewLoadRow[]): Promise<CardLoadRow[]> {
    return m.query(...cardLoadIntakeCall(rows));
  }

  /** Locks the load's row (FOR UPDATE); null when there is no such load. */
  async lock(m: EntityManager, loadId: string): Promise<LoadLock | null> {
    const rows: LoadLock[] = await m.query(`SELECT status, journal_transaction_id, undone_at FROM card_loads WHERE id = $1 FOR UPDATE`, [
      loadId,
    ]);
    return rows[0] ?? null;
  }

  async markNeedsReview(m: EntityManager, loadId: string, reason: string): Promise<void> {
    await m.query(`UPDATE card_loads SET status = 'needs_review', status_reason = $2, updated_at = ledger_moment() WHERE id = $1`, [
      loadId,
      reason,
    ]);
  }

  async markUndone(m: EntityManager, loadId: string, reason: string): Promise<void> {
    await m.query(`UPDATE card_loads SET undone_at = ledger_moment(), status_reason = $2, updated_at = ledger_moment() WHERE id = $1`, [
      loadId,
      `undone: ${reason}`.slice(0, 1000),
    ]);
  }

  /** One entry of the load's history (load_events is append-only). */
  async recordEvent(
    m: EntityManager,
    e: { loadId: string; type: string; outcome: string; message: string; actor: string; requestId: string | null },
  ): Promise<void> {
    await m.query(`INSERT INTO load_events (load_id, type, outcome, message, actor, request_id) VALUES ($1, $2, $3, $4, $5, $6)`, [
      e.loadId,
      e.type,
      e.outcome,
      e.message.slice(0, 1000),
      e.actor,
      e.requestId,
    ]);
  }

  /** Loads in needs_review after `afterId`, by id (keyset: a re-queue leaves the status as it is). */
  async needsReviewIds(afterId: string, limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.ds.query(
      `SELECT id FROM card_loads WHERE status = 'needs_review' AND id > $1 ORDER BY id LIMIT $2`,
      [afterId, limit],
    );
    return rows.map((r) => r.id);
  }

  async countByStatus(): Promise<Array<{ status: string; n: number }>> {
    return this.ds.query(`SELECT status, count(*)::int AS n FROM card_loads GROUP BY status`);
  }

  /**
   * Loads created in [from, to) by currency and status (amounts summed as bigint, per currency), the oldest load in each
   * of `openStatuses`, and the database's clock; null bounds are open.
   */
  async windowSummary(fromIso: string | null, toIso: string | null, openStatuses: readonly string[]): Promise<LoadWindowSummary> {
    const window = [fromIso, toIso];
    const inWindow = `($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)`;
    const groups: LoadWindowSummary['groups'] = await this.ds.query(
      `SELECT currency, status, count(*)::text AS count, sum(amount)::text AS amount
       FROM card_loads WHERE ${inWindow} GROUP BY currency, status`,
      window,
    );
    // One index probe per open status (card_loads_status is (status, created_at DESC, id DESC)).
    const oldest: LoadWindowSummary['oldest'] = await this.ds.query(
      `SELECT s.status, o.id, o.created_at, extract(epoch FROM clock_timestamp() - o.created_at)::float8 AS age_seconds
       FROM unnest($3::text[]) AS s(status)
       LEFT JOIN LATERAL (SELECT id, created_at FROM card_loads
                          WHERE status = s.status AND ${inWindow} ORDER BY created_at, id LIMIT 1) o ON true`,
      [...window, openStatuses],
    );
    const [{ now }]: Array<{ now: Date }> = await this.ds.query(`SELECT clock_timestamp() AS now`);
    return { groups, oldest, now };
  }
}
