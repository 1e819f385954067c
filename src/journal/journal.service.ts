import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { newRowId } from '../common/ids';
import { DataSource, EntityManager } from 'typeorm';
import { Caller } from '../auth/scopes';
import { KeysetList } from '../common/csv';
import { amountOutOfRange, ApiError, badField, FieldProblem, notFound, validationFailed } from '../common/errors';
import { formatMinor, parseAmountMinor } from '../common/money';
import { parseInstant } from '../common/instant';
import { checkCursorInstant, checkCursorPart, decodeCursor, encodeCursor, parseLimit, parseRange, UUID } from '../common/paging';
import { inTransaction, pgCode, pgConstraint } from '../database/transaction';
import { LedgerService } from '../ledger/ledger.service';
import { EntryInput, Transfer } from '../ledger/ledger.types';
import { CreateJournalDto, ListJournalQuery } from './journal.dto';
import { JOURNAL_CSV, JournalEntryRow, JournalLine, journalView, JournalView } from './journal.view';
import { LedgerClock } from '../ledger/ledger-clock';
import { JournalStore } from '../ledger/journal.store';
import { APP_CONFIG, AppConfig } from '../config/app-config';

type Cursor = [createdAt: string, id: string];

/**
 * A retried POST with the same Idempotency-Key maps to the same transaction id (a UUIDv8 of key and caller),
 * so the primary key itself refuses a second posting: no extra table, no window between check and write.
 */
export function journalIdFor(apiKeyId: string, idempotencyKey: string): string {
  const b = createHash('sha256').update(`journal:${apiKeyId}:${idempotencyKey}`).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const canonicalMetadata = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)));

@Injectable()
export class JournalService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly ledger: LedgerService,
    private readonly clock: LedgerClock,
    private readonly journal: JournalStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A manual posted transaction (funding a parent, a correction): balanced per currency, on existing accounts. */
  async post(
    caller: Caller,
    idempotencyKey: string | undefined,
    dto: CreateJournalDto,
  ): Promise<{ journal: JournalView; replayed: boolean }> {
    const id = idempotencyKey === undefined ? newRowId() : journalIdFor(caller.apiKeyId, idempotencyKey);
    try {
      await inTransaction(this.ds, async (m) =>
        this.ledger.createTransfer(m, {
          id,
          kind: 'posted',
          event: 'journal',
          description: dto.description,
          metadata: dto.metadata ?? {},
          entries: await this.resolveEntries(m, dto),
        }),
      );
    } catch (e) {
      if (idempotencyKey !== undefined && pgCode(e) === '23505' && pgConstraint(e) === 'journal_transactions_pkey') {
        return { journal: await this.replay(id, dto), replayed: true };
      }
      // numeric_value_out_of_range: an account's running totals (bigint paise) would overflow. Each entry is
      // capped, but many of them add up; the transaction rolled back, nothing was written.
      if (pgCode(e) === '22003') {
        throw amountOutOfRange("this transaction would take an account's totals");
      }
      throw e;
    }
    return { journal: await this.get(id), replayed: false };
  }

  /** Every entry problem at once, each naming its field; then the balance per currency, naming `entries`. */
  private async resolveEntries(m: EntityManager, dto: CreateJournalDto): Promise<EntryInput[]> {
    const accounts = await this.ledger.findAccounts(
      m,
      dto.entries.map((e) => e.accountCode),
    );
    const problems: FieldProblem[] = [];
    const entries: EntryInput[] = [];
    dto.entries.forEach((e, i) => {
      const account = accounts.get(e.accountCode);
      const amount = parseAmountMinor(e.amount);
      if (!account) problems.push({ field: `entries.${i}.accountCode`, message: `account ${e.accountCode} does not exist` });
      // A card's balance must equal its loads (invariant 6); EnKash never hears of a manual entry.
      else if (e.accountCode.startsWith('card:'))
        problems.push({ field: `entries.${i}.accountCode`, message: 'card accounts move only through card loads' });
      else if (e.currency !== undefined && e.currency !== account.currency) {
        problems.push({ field: `entries.${i}.currency`, message: `must be ${account.currency}, the currency of ${account.code}` });
      } else if (amount.ok && amount.value > this.config.maxJournalAmountMinor) {
        const max = formatMinor(this.config.maxJournalAmountMinor);
        problems.push({ field: `entries.${i}.amount`, message: `must not exceed MAX_JOURNAL_AMOUNT (${max})` });
      } else if (amount.ok)
        entries.push({ accountCode: e.accountCode, direction: e.direction, amount: amount.value, currency: account.currency });
    });
    if (problems.length) throw validationFailed(problems);
    const net = new Map<string, bigint>();
    for (const e of entries) net.set(e.currency, (net.get(e.currency) ?? 0n) + (e.direction === 'debit' ? e.amount : -e.amount));
    const unbalanced = [...net].filter(([, v]) => v !== 0n);
    if (unbalanced.length) {
      throw badField(
        'entries',
        `debits and credits must be equal per currency: ${unbalanced
          .map(([c, v]) =>
            v > 0n ? `${c} debits exceed credits by ${formatMinor(v)}` : `${c} credits exceed debits by ${formatMinor(-v)}`,
          )
          .join(', ')}`,
      );
    }
    return entries;
  }

  /** The same request again gets the transaction it created; another request under the same key is a 409. */
  private async replay(id: string, dto: CreateJournalDto): Promise<JournalView> {
    const t: Transfer | null = await this.ledger.getTransfer(this.ds.manager, id);
    const same =
      t !== null &&
      t.kind === 'posted' &&
      t.description === dto.description &&
      canonicalMetadata(t.metadata) === canonicalMetadata(dto.metadata ?? {}) &&
      t.entries.length === dto.entries.length &&
      t.entries.every((s, i) => {
        const e = dto.entries[i];
        const amount = parseAmountMinor(e.amount);
        return (
          s.accountCode === e.accountCode &&
          s.direction === e.direction &&
          amount.ok &&
          amount.value === s.amount &&
          (e.currency === undefined || e.currency === s.currency)
        );
      });
    if (!same) throw new ApiError('idempotency_key_reused', 'this Idempotency-Key was already used with a different journal transaction');
    return this.get(id);
  }

  async get(id: string): Promise<JournalView> {
    if (!UUID.test(id)) throw badField('id', 'must be a journal transaction id (a UUID)');
    const [tx] = await this.read({ id, limit: 1 });
    if (!tx) throw notFound(`journal transaction ${id}`);
    // Every transaction has entries (invariant 1); none here means its month's entries are archived.
    if (tx.view.entries.length === 0) await this.clock.notArchived(parseInstant('createdAt', tx.view.createdAt), 'createdAt');
    return tx.view;
  }

  /**
   * Oldest first on (created_at, id), the journal's index. Transactions on different accounts may commit out of
   * time order, so every page stops at a final moment (`to`, else now once final: docs/time.md): a transaction
   * committed later is always after the cursor, never skipped.
   */
  list(q: ListJournalQuery): KeysetList<JournalView, Cursor, JournalLine> {
    const limit = parseLimit(q.limit);
    const { from, to } = parseRange(q);
    if (q.loadId !== undefined && !UUID.test(q.loadId)) throw badField('loadId', 'must be a card load id (a UUID)');
    const raw = decodeCursor(q.cursor, ['string', 'string']);
    if (raw) {
      checkCursorInstant(String(raw[0]));
      checkCursorPart(UUID.test(String(raw[1])));
    }
    return {
      start: raw ? [String(raw[0]), String(raw[1])] : null,
      limit,
      csv: JOURNAL_CSV,
      encode: (c) => encodeCursor(c),
      fetch: async (after, n) => {
        await this.clock.notArchived(from);
        if (to) await this.clock.finalBefore(to);
        const rows = await this.read({
          after,
          // Without `from`, the journal starts at the archive point: the transactions before it have no entries here.
          fromIso: from?.iso ?? (await this.clock.archivePoint())?.toISOString() ?? null,
          beforeIso: to ? to.iso : (await this.clock.finalCut(null)).iso,
          beforeInclusive: !to,
          kind: q.kind,
          loadId: q.loadId,
          limit: n + 1,
        });
        const page = rows.slice(0, n);
        return { rows: page.map((r) => r.view), next: rows.length > n ? page[page.length - 1].cursor : null };
      },
    };
  }

  /** Transactions with their entries, two queries per page; the cursor keeps microseconds the ISO view cannot. */
  private async read(f: Parameters<JournalStore['journalPage']>[0]): Promise<Array<{ view: JournalView; cursor: Cursor }>> {
    const { rows, entries } = await this.journal.journalPage(f);
    const byTx = new Map<string, JournalEntryRow[]>();
    for (const e of entries) {
      const list = byTx.get(e.transaction_id);
      if (list) list.push(e);
      else byTx.set(e.transaction_id, [e]);
    }
    return rows.map((r) => ({ view: journalView(r, byTx.get(r.id) ?? []), cursor: [r.created_at_cursor, r.id] }));
  }
}
