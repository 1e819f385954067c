import { Inject, Injectable } from '@nestjs/common';
import { Caller } from '../auth/scopes';
import { csvOf, CSV_PAGE_ROWS, KeysetList } from '../common/csv';
import { amountOutOfRange, badField, notFound } from '../common/errors';
import { formatMinor, parseAmountMinor } from '../common/money';
import { parseInstant } from '../common/instant';
import { checkCursorInstant, checkCursorPart, decodeCursor, encodeCursor, parseLimit, UUID } from '../common/paging';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { pgCode } from '../database/transaction';
import { LedgerClock } from '../ledger/ledger-clock';
import { IntakeResult, IntakeWriter, NormalisedLoad, requestHash } from './intake-writer';
import { CreateCardLoadDto, ListCardLoadsQuery } from './card-load.dto';
import { CARD_LOAD_CSV, cardLoadView, CardLoadView, loadEventView } from './card-load.view';
import { CardLoadsStore } from './card-loads.store';

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
    private readonly loads: CardLoadsStore,
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
      enKashCardId: dto.enKashCardId,
      amountMinor: amount.value,
      currency: dto.currency ?? 'INR',
      companyId: dto.companyId ?? this.config.enkash.companyId,
      cardAccountId: dto.cardAccountId ?? this.config.enkash.cardAccountId,
      description: dto.description ?? null,
      remarks: dto.remarks ?? null,
      metadata: dto.metadata ?? {},
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
      if (pgCode(e) === '22003') throw amountOutOfRange("this load would take its parent's or its card's totals");
      throw e;
    });
  }

  /** The load a caller's idempotency key wrote, if any, with the request id that created it and its body's hash. */
  async findByIdempotencyKey(
    caller: Caller,
    idempotencyKey: string,
  ): Promise<{ view: CardLoadView; requestId: string | null; requestHash: Buffer } | null> {
    const row = await this.loads.findByIdempotencyKey(caller.apiKeyId, idempotencyKey);
    return row === null ? null : { view: cardLoadView(row), requestId: row.request_id ?? null, requestHash: row.request_hash };
  }

  /**
   * Another key's load answers 404 to a loads:write key, as if it did not exist (README "Who sees which loads").
   * `caller` null: no restriction (an operator path that just acted on the load).
   */
  async get(id: string, caller: Caller | null) {
    if (!UUID.test(id)) throw notFound(`card load ${id}`);
    const row = await this.loads.findVisible(id, caller && loadOwner(caller));
    if (row === null) throw notFound(`card load ${id}`);
    const events = await this.loads.events(id);
    return { ...cardLoadView(row), events: events.map(loadEventView) };
  }

  /** The same list as CSV: every page from the query's cursor, with the query's filters (validated up front). */
  listing(q: ListCardLoadsQuery, caller: Caller): KeysetList<CardLoadView, string> {
    parseLimit(q.limit);
    parseInstant('createdFrom', q.createdFrom);
    parseInstant('createdTo', q.createdTo);
    loadsCursor(q.cursor);
    return {
      start: q.cursor ?? null,
      limit: CSV_PAGE_ROWS,
      csv: csvOf(CARD_LOAD_CSV),
      encode: (c) => c,
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
    // Loads on different parents may commit out of time order: a page stops at a final moment (docs/time.md), so
    // a load committed later is always before the cursor's newest end, never inside a page already read.
    if (to) await this.clock.finalBefore(to);
    const rows = await this.loads.page({
      owner: loadOwner(caller),
      status: q.status,
      enKashCardId: q.enKashCardId,
      fromIso: from?.iso ?? null,
      beforeIso: to ? to.iso : (await this.clock.finalCut(null)).iso,
      beforeInclusive: !to,
      asc: q.order === 'asc',
      cursor,
      limit,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(cardLoadView),
      nextCursor: rows.length > limit && last ? encodeCursor([last.created_at_cursor!, last.id]) : null,
    };
  }
}
