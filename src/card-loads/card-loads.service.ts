import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { Caller } from '../auth/scopes';
import { ApiError, badField, notFound } from '../common/errors';
import { formatMinor, parseAmountMinor } from '../common/money';
import { decodeCursor, encodeCursor, parseDate, parseLimit } from '../common/paging';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { inTransaction, pgCode } from '../database/transaction';
import { LedgerService } from '../ledger/ledger.service';
import { CreateCardLoadDto, ListCardLoadsQuery } from './card-load.dto';
import { CardLoadRow, cardLoadView, CardLoadView, LoadEventRow, loadEventView } from './card-load.view';

export const cardAccountCode = (enKashCardId: string) => `card:${enKashCardId}`;
export const parentAccountCode = (cardAccountId: string) => `parent:${cardAccountId}`;

/** EnKash's uniqueReferenceNumber: time-ordered, random, minted once per load and never re-minted. */
export function mintReference(): string {
  return `CL${Date.now().toString(36).toUpperCase()}${randomBytes(8).toString('hex').toUpperCase()}`;
}

interface NormalisedLoad {
  enKashCardId: string; amountMinor: bigint; currency: string; companyId: string; cardAccountId: string;
  description: string | null; remarks: string | null; metadata: Record<string, string>;
}

function requestHash(n: NormalisedLoad): Buffer {
  const metadata = Object.fromEntries(Object.entries(n.metadata).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash('sha256').update(JSON.stringify({ ...n, amountMinor: n.amountMinor.toString(), metadata })).digest();
}

@Injectable()
export class CardLoadsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly ledger: LedgerService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  normalise(dto: CreateCardLoadDto): NormalisedLoad {
    const amount = parseAmountMinor(dto.amount);
    if (!amount.ok) throw badField('amount', amount.message);
    if (amount.value > this.config.maxLoadAmountMinor) {
      throw badField('amount', `must not exceed the per-load maximum of ${formatMinor(this.config.maxLoadAmountMinor)}`);
    }
    return {
      enKashCardId: dto.enKashCardId, amountMinor: amount.value, currency: dto.currency ?? 'INR',
      companyId: dto.companyId ?? this.config.enkash.companyId, cardAccountId: dto.cardAccountId ?? this.config.enkash.cardAccountId,
      description: dto.description ?? null, remarks: dto.remarks ?? null, metadata: dto.metadata ?? {},
    };
  }

  /**
   * Intake, one DB transaction: claim the idempotency key, write the load with its reference, the pending
   * transfer Dr parent Cr card, and the outbox job. EnKash is never called here.
   */
  async create(caller: Caller, idempotencyKey: string, dto: CreateCardLoadDto, requestId: string | null):
    Promise<{ load: CardLoadView; replayed: boolean }> {
    const n = this.normalise(dto);
    const hash = requestHash(n);
    return inTransaction(this.ds, async (m) => {
      const id = randomUUID();
      const journalId = randomUUID();
      const inserted: Array<{ id: string }> = await m.query(
        `INSERT INTO card_loads (id, reference, api_key_id, idempotency_key, request_hash, en_kash_card_id, company_id,
           card_account_id, amount, currency, journal_transaction_id, description, remarks, metadata, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT ON CONSTRAINT card_loads_idempotency DO NOTHING RETURNING id`,
        [id, mintReference(), caller.apiKeyId, idempotencyKey, hash, n.enKashCardId, n.companyId, n.cardAccountId,
          n.amountMinor.toString(), n.currency, journalId, n.description, n.remarks, JSON.stringify(n.metadata), requestId]);
      if (inserted.length === 0) return this.replay(m, caller, idempotencyKey, hash);
      const parent = parentAccountCode(n.cardAccountId);
      const card = cardAccountCode(n.enKashCardId);
      await this.ledger.ensureAccounts(m, [
        { code: parent, currency: n.currency, normalSide: 'credit' },
        { code: card, currency: n.currency, normalSide: 'credit' },
      ]);
      await this.ledger.createTransfer(m, {
        id: journalId, kind: 'pending', event: 'load_pending', loadId: id,
        description: n.description ?? `card load ${id}`,
        entries: [
          { accountCode: parent, direction: 'debit', amount: n.amountMinor, currency: n.currency },
          { accountCode: card, direction: 'credit', amount: n.amountMinor, currency: n.currency },
        ],
      });
      await m.query(`INSERT INTO sync_jobs (load_id) VALUES ($1)`, [id]);
      await m.query(`INSERT INTO load_events (load_id, type, outcome, actor, request_id) VALUES ($1, 'created', 'pending', $2, $3)`,
        [id, caller.name, requestId]);
      const rows: CardLoadRow[] = await m.query(`SELECT * FROM card_loads WHERE id = $1`, [id]);
      return { load: cardLoadView(rows[0]), replayed: false };
    });
  }

  private async replay(m: EntityManager, caller: Caller, key: string, hash: Buffer): Promise<{ load: CardLoadView; replayed: boolean }> {
    const rows: CardLoadRow[] = await m.query(
      `SELECT * FROM card_loads WHERE api_key_id = $1 AND idempotency_key = $2`, [caller.apiKeyId, key]);
    if (rows.length === 0) {
      // The holder of the key rolled back between our conflict and this read: the caller may simply retry.
      throw new ApiError(409, 'idempotency_key_in_progress', 'a request with this Idempotency-Key is in progress; retry');
    }
    if (!rows[0].request_hash.equals(hash)) {
      throw new ApiError(409, 'idempotency_key_reused', 'this Idempotency-Key was already used with a different request body');
    }
    return { load: cardLoadView(rows[0]), replayed: true };
  }

  async get(id: string) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw notFound(`card load ${id}`);
    const rows: CardLoadRow[] = await this.ds.query(`SELECT * FROM card_loads WHERE id = $1`, [id]);
    if (rows.length === 0) throw notFound(`card load ${id}`);
    const events: LoadEventRow[] = await this.ds.query(`SELECT * FROM load_events WHERE load_id = $1 ORDER BY id`, [id]);
    return { ...cardLoadView(rows[0]), events: events.map(loadEventView) };
  }

  /** Newest first; keyset paging on (created_at, id) so rows arriving during paging are neither missed nor repeated. */
  async list(q: ListCardLoadsQuery): Promise<{ data: CardLoadView[]; nextCursor: string | null }> {
    const limit = parseLimit(q.limit);
    const from = parseDate('createdFrom', q.createdFrom);
    const to = parseDate('createdTo', q.createdTo);
    const cursor = decodeCursor(q.cursor, ['string', 'string']);
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    if (q.status) where.push(`status = ${arg(q.status)}`);
    if (q.enKashCardId) where.push(`en_kash_card_id = ${arg(q.enKashCardId)}`);
    if (from) where.push(`created_at >= ${arg(from)}`);
    if (to) where.push(`created_at < ${arg(to)}`);
    if (cursor) where.push(`(created_at, id) < (${arg(cursor[0])}::timestamptz, ${arg(cursor[1])}::uuid)`);
    const rows: CardLoadRow[] = await this.ds.query(
      `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_cursor
       FROM card_loads ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT ${arg(limit + 1)}`, args).catch((e: unknown) => {
      if (pgCode(e) === '22P02' || pgCode(e) === '22007' || pgCode(e) === '22008') throw badField('cursor', 'is not a cursor this list issued');
      throw e;
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(cardLoadView),
      nextCursor: rows.length > limit && last ? encodeCursor([last.created_at_cursor!, last.id]) : null,
    };
  }
}
