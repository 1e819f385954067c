import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Caller } from '../auth/scopes';
import { csvOf, CSV_PAGE_ROWS, KeysetList } from '../common/csv';
import { amountOutOfRange, badField, notFound } from '../common/errors';
import { formatMinor, parseAmountMinor } from '../common/money';
import { parseInstant } from '../common/instant';
import { checkCursorInstant, checkCursorPart, cursorInstantSql, decodeCursor, encodeCursor, parseLimit, UUID } from '../common/paging';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { pgCode } from '../database/transaction';
import { LedgerClock } from '../ledger/ledger-clock';
import { IntakeResult, IntakeWriter, NormalisedLoad, requestHash } from './intake-writer';
import { CreateCardLoadDto, ListCardLoadsQuery } from './card-load.dto';
import { CARD_LOAD_CSV, CardLoadRow, cardLoadView, CardLoadView, LoadEventRow, loadEventView } from './card-load.view';

export { cardAccountCode, mintReference, parentAccountCode } from './intake-writer';

/**
 * Whose loads a caller sees: a key with only loads:write (a billing system) sees the loads it created; ledger:read
 * (auditors) and admin see all. Null = all.
 */
export function loadOwner(caller: Caller): string | null {
  return caller.scopes.includes('admin') || caller.scopes.includes('ledger:read') ? null : caller.apiKeyId;
}

/** [created_at as microseconds, id], each checked for the form the list wrote: Postgres never parses caller text. */
function loadsCursor(raw: string | undefined): [string, string] | null {
  const cursor = decodeCursor(raw, ['string', 'string']) as [string, string] | null;
  if (cursor) {
    checkCursorInstant(cursor[0]);
    checkCursorPart(UUID.test(cursor[1]));
  }
  return cursor;
}

@Injectable()
export class CardLoadsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly writer: IntakeWriter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: LedgerClock,
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
   * Intake: the load with its reference, the pending transfer Dr parent Cr card, and the outbox job, in one
   * DB transaction shared with whatever other loads arrived meanwhile (IntakeWriter). EnKash is never called here.
   */
  async create(caller: Caller, idempotencyKey: string, dto: CreateCardLoadDto, requestId: string | null): Promise<IntakeResult> {
    const load = this.normalise(dto);
    return this.writer.submit({ caller, idempotencyKey, load, hash: requestHash(load), requestId }).catch((e: unknown) => {
      // numeric_value_out_of_range: the parent's or the card's totals (bigint paise) would overflow; possible only with a
      // MAX_LOAD_AMOUNT near its bound. The group commit retried this load alone, so only it is refused; nothing was written.
      if (pgCode(e) === '22003') throw amountOutOfRange('this load would take its parent\'s or its card\'s totals');
      throw e;
    });
  }

  /** The load a caller's idempotency key wrote, if any, with the request id that created it and its body's hash. */
  async findByIdempotencyKey(caller: Caller, idempotencyKey: string):
    Promise<{ view: CardLoadView; requestId: string | null; requestHash: Buffer } | null> {
    const rows: CardLoadRow[] = await this.ds.query(`SELECT * FROM card_loads WHERE api_key_id = $1 AND idempotency_key = $2`,
      [caller.apiKeyId, idempotencyKey]);
    return rows.length === 0 ? null : { view: cardLoadView(rows[0]), requestId: rows[0].request_id ?? null, requestHash: rows[0].request_hash };
  }

  /**
   * Another key's load answers 404 to a loads:write key, as if it did not exist (README "Who sees which loads").
   * `caller` null: no restriction (an operator path that just acted on the load).
   */
  async get(id: string, caller: Caller | null) {
    if (!UUID.test(id)) throw notFound(`card load ${id}`);
    const rows: CardLoadRow[] = await this.ds.query(
      `SELECT * FROM card_loads WHERE id = $1 AND ($2::uuid IS NULL OR api_key_id = $2)`, [id, caller && loadOwner(caller)]);
    if (rows.length === 0) throw notFound(`card load ${id}`);
    const events: LoadEventRow[] = await this.ds.query(`SELECT * FROM load_events WHERE load_id = $1 ORDER BY id`, [id]);
    return { ...cardLoadView(rows[0]), events: events.map(loadEventView) };
  }

  /** The same list as CSV: every page from the query's cursor, with the query's filters (validated up front). */
  listing(q: ListCardLoadsQuery, caller: Caller): KeysetList<CardLoadView, string> {
    parseLimit(q.limit);
    parseInstant('createdFrom', q.createdFrom);
    parseInstant('createdTo', q.createdTo);
    loadsCursor(q.cursor);
    return {
      start: q.cursor ?? null, limit: CSV_PAGE_ROWS, csv: csvOf(CARD_LOAD_CSV), encode: (c) => c,
      fetch: async (cursor, n) => {
        const page = await this.list({ ...q, cursor: cursor ?? undefined, limit: String(n) }, caller);
        return { rows: page.data, next: page.nextCursor };
      },
    };
  }

  /**
   * Newest first (oldest first with `order=asc`); keyset paging on (created_at, id) so rows arriving during paging are
   * neither missed nor repeated.
   */
  async list(q: ListCardLoadsQuery, caller: Caller): Promise<{ data: CardLoadView[]; nextCursor: string | null }> {
    const limit = parseLimit(q.limit);
    const from = parseInstant('createdFrom', q.createdFrom);
    const to = parseInstant('createdTo', q.createdTo);
    const cursor = loadsCursor(q.cursor);
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    const owner = loadOwner(caller);
    if (owner) where.push(`api_key_id = ${arg(owner)}`);
    if (q.status) where.push(`status = ${arg(q.status)}`);
    if (q.enKashCardId) where.push(`en_kash_card_id = ${arg(q.enKashCardId)}`);
    if (from) where.push(`created_at >= ${arg(from.iso)}::timestamptz`);
    // Loads on different parents may commit out of time order: a page stops at a final moment (docs/time.md), so
    // a load committed later is always before the cursor's newest end, never inside a page already read.
    if (to) {
      await this.clock.finalBefore(to);
      where.push(`created_at < ${arg(to.iso)}::timestamptz`);
    } else where.push(`created_at <= ${arg((await this.clock.finalCut(null)).iso)}::timestamptz`);
    const asc = q.order === 'asc';
    if (cursor) where.push(`(created_at, id) ${asc ? '>' : '<'} (${arg(cursor[0])}::timestamptz, ${arg(cursor[1])}::uuid)`);
    const rows: CardLoadRow[] = await this.ds.query(
      `SELECT *, ${cursorInstantSql('created_at')} AS created_at_cursor
       FROM card_loads ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at ${asc ? 'ASC' : 'DESC'}, id ${asc ? 'ASC' : 'DESC'} LIMIT ${arg(limit + 1)}`, args);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(cardLoadView),
      nextCursor: rows.length > limit && last ? encodeCursor([last.created_at_cursor!, last.id]) : null,
    };
  }
}
