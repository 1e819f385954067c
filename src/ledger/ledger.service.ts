import { Injectable } from '@nestjs/common';
import { newRowId } from '../common/ids';
import { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { AccountRow, AccountsStore } from '../accounts/accounts.store';
import { asStored, contentHash } from './journal-seal';
import { JournalHeader, JournalStore, MAX_ENTRIES, Move, PendingResolution, ResolvedTransaction, TransferEntryRow } from './journal.store';
import { pgCode, pgConstraint } from '../database/transaction';
import { transferLinks } from '../journal/journal.view';
import { AlreadyResolvedError, AlreadyUndoneError, InsufficientFundsError, TransferArchivedError } from './ledger.errors';
import { Account, AccountSpec, EntryInput, HistoryEvent, Transfer, TransferInput, TransferKind } from './ledger.types';

export { MAX_ENTRIES };

interface Delta {
  accountId: string;
  pendingDebits: bigint;
  pendingCredits: bigint;
  postedDebits: bigint;
  postedCredits: bigint;
}

export function toAccount(r: AccountRow): Account {
  return {
    id: String(r.id),
    code: r.code,
    currency: r.currency,
    normalSide: r.normal_side,
    noOverdraft: r.no_overdraft,
    name: r.name,
    createdAt: r.created_at,
    pendingDebits: BigInt(r.pending_debits),
    pendingCredits: BigInt(r.pending_credits),
    postedDebits: BigInt(r.posted_debits),
    postedCredits: BigInt(r.posted_credits),
    historySeq: BigInt(r.history_seq),
  };
}

/**
 * The only writer of journal rows, balances and balance history. Every method takes the caller's
 * transaction manager: a ledger step is always part of a business step, never a transaction of its own.
 */
const entryInputOf = (e: TransferEntryRow): EntryInput => ({
  accountCode: e.code,
  direction: e.direction,
  amount: BigInt(e.amount),
  currency: e.currency.trim(),
});

@Injectable()
export class LedgerService {
  constructor(
    private readonly journal: JournalStore,
    private readonly accounts: AccountsStore,
  ) {}

  /** Creates the accounts that do not exist yet (concurrent creators are harmless) and returns all of them. */
  async ensureAccounts(m: EntityManager, specs: AccountSpec[]): Promise<Map<string, Account>> {
    if (specs.length > 0) await this.accounts.insertMissing(m, specs);
    return this.findAccounts(
      m,
      specs.map((s) => s.code),
    );
  }

  /** Creates one account; null when the code is already taken (the caller decides whether that is a conflict). */
  async openAccount(m: EntityManager, spec: AccountSpec): Promise<Account | null> {
    const row = await this.accounts.open(m, spec);
    return row ? toAccount(row) : null;
  }

  /**
   * Locks the given accounts (ascending id, as every writer does) and fixes the transaction's moment after the
   * locks: every row the transaction writes from then on carries it (docs/time.md). Returns the moment.
   */
  beginMoment(m: EntityManager, accountIds: string[]): Promise<Date> {
    return this.journal.beginMoment(m, accountIds);
  }

  async findAccounts(m: EntityManager, codes: string[]): Promise<Map<string, Account>> {
    const rows = await this.accounts.findByCodes(m, codes);
    return new Map(rows.map((r) => [r.code, toAccount(r)]));
  }

  /** The transaction that posted this pending one (a posted load has one). */
  postOf(m: EntityManager, pendingId: string): Promise<{ id: string }> {
    return this.journal.postOf(m, pendingId);
  }

  /** Writes phase one of a two-phase transfer (kind 'pending') or a single-phase posted transfer. */
  async createTransfer(m: EntityManager, input: TransferInput, known?: Map<string, Account>): Promise<Transfer> {
    return (await this.createTransfers(m, [input], known))[0];
  }

  /**
   * Writes many transfers in three round trips whatever their number (the accounts, unless the caller
   * passes them; the journal rows; the balances): intake commits a batch of concurrent card loads this way.
   * If one transfer breaks a noOverdraft account, the whole call fails; the caller decides what to retry.
   */
  async createTransfers(m: EntityManager, inputs: TransferInput[], known?: Map<string, Account>): Promise<Transfer[]> {
    assert(inputs.length >= 1, 'at least one transfer');
    for (const input of inputs) {
      assert(input.entries.length >= 2 && input.entries.length <= MAX_ENTRIES, 'a transfer has 2..100 entries');
      const sums = new Map<string, bigint>();
      for (const e of input.entries) {
        assert(e.amount > 0n, 'entry amounts are positive');
        sums.set(e.currency, (sums.get(e.currency) ?? 0n) + (e.direction === 'debit' ? e.amount : -e.amount));
      }
      assert(
        [...sums.values()].every((v) => v === 0n),
        'a transfer balances per currency',
      );
    }
    const codes = [...new Set(inputs.flatMap((i) => i.entries.map((e) => e.accountCode)))];
    const accounts = known && codes.every((c) => known.has(c)) ? known : await this.findAccounts(m, codes);
    const planned = inputs.map((input) => {
      for (const e of input.entries) {
        const a = accounts.get(e.accountCode);
        assert(a !== undefined, `account ${e.accountCode} exists`);
        assert(a.currency === e.currency, `entry currency matches account ${e.accountCode}`);
      }
      const header = {
        id: input.id ?? newRowId(),
        kind: input.kind as TransferKind,
        pendingId: null,
        undoesId: input.undoesId ?? null,
        description: input.description ?? null,
        metadata: input.metadata ?? {},
      };
      const entries = input.entries.map((e) => ({ ...e, accountId: accounts.get(e.accountCode)!.id }));
      const moves = deltasOf(entries, (e) => (input.kind === 'pending' ? pendingDelta(e) : postedDelta(e))).map((d) => ({
        ...d,
        txId: header.id,
        event: input.event,
        loadId: input.loadId ?? null,
      }));
      return { header, entries, moves, input };
    });
    await this.beginMoment(m, [...new Set(planned.flatMap((p) => p.entries.map((e) => e.accountId)))]);
    const createdAt = await this.writeJournal(m, planned).catch((e: unknown) => {
      if (pgCode(e) === '23505' && pgConstraint(e) === 'journal_transactions_undone_once') {
        throw new AlreadyUndoneError(String(inputs.find((i) => i.undoesId)?.undoesId));
      }
      throw e;
    });
    await this.applyDeltas(
      m,
      planned.flatMap((p) => p.moves),
      accounts,
    );
    return planned.map(({ header, input }) => ({
      ...header,
      createdAt: createdAt.get(header.id)!,
      entries: input.entries.map(({ accountCode, direction, amount, currency }) => ({ accountCode, direction, amount, currency })),
    }));
  }

  /** Phase two: the pending amounts move to posted. Exactly once per pending transfer (unique resolving row). */
  postPending(m: EntityManager, pendingId: string, event: HistoryEvent, loadId: string | null): Promise<Transfer> {
    return this.resolvePending(m, pendingId, 'post_pending', event, loadId);
  }

  /** Phase two: the pending amounts are released; posted balances never moved. */
  voidPending(m: EntityManager, pendingId: string, event: HistoryEvent, loadId: string | null): Promise<Transfer> {
    return this.resolvePending(m, pendingId, 'void_pending', event, loadId);
  }

  /** Appends the opposite posted transfer of a posted one; the original is never touched. */
  async undoPosted(m: EntityManager, postedId: string, event: HistoryEvent, loadId: string | null, description: string): Promise<Transfer> {
    const original = await this.getTransfer(m, postedId);
    assert(original && (original.kind === 'posted' || original.kind === 'post_pending'), 'only posted transfers are undone');
    if (original.entries.length === 0) {
      // An archived month's transfer (a chargeback months later): its entries are read from the month's table.
      const kept = await this.journal.archivedEntries(m, postedId);
      assert(kept, `transfer ${postedId} has no entries and is not in an archived month`);
      if (kept.entries === null || kept.entries.length === 0) throw new TransferArchivedError(postedId, kept.table, kept.hi);
      original.entries = kept.entries.map(entryInputOf);
    }
    return this.createTransfer(m, {
      kind: 'posted',
      undoesId: postedId,
      entries: original.entries.map((e) => ({ ...e, direction: e.direction === 'debit' ? 'credit' : 'debit' })),
      description,
      event,
      loadId,
    });
  }

  async getTransfer(m: EntityManager, id: string): Promise<Transfer | null> {
    const r = await this.journal.transaction(m, id);
    if (r === null) return null;
    const entries = await this.journal.entries(m, id);
    return {
      ...transferLinks(r),
      metadata: r.metadata,
      createdAt: r.created_at,
      entries: entries.map(entryInputOf),
    };
  }

  /**
   * Phase two for many pending transfers in one call (ledger_resolve_pending, migration 1765210000000; it queues
   * each for sealing with its content hash, migration 1765400000000). Any transfer already resolved fails the whole
   * call with AlreadyResolvedError (the unique resolving row, before any balance moves); the caller retries the
   * others alone. `write` runs the call: by default alone; settlement passes its own, which carries the loads'
   * writes around the same call (card_loads_settle, SyncJobsStore.settle).
   */
  async resolvePendingMany(
    m: EntityManager,
    items: Array<Omit<PendingResolution, 'id'>>,
    write: (withIds: PendingResolution[]) => Promise<ResolvedTransaction[]> = (withIds) => this.journal.resolvePending(m, withIds),
  ): Promise<Transfer[]> {
    const rows = await write(items.map((i) => ({ ...i, id: newRowId() }))).catch((e: unknown) => {
      if (pgCode(e) === '23505' && pgConstraint(e) === 'journal_transactions_resolves_once') {
        throw new AlreadyResolvedError(items.length === 1 ? items[0].pendingId : 'one of a batch');
      }
      throw e;
    });
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      pendingId: r.pending_id,
      undoesId: null,
      description: r.description,
      metadata: {},
      createdAt: r.created_at,
      entries: r.codes.map((accountCode, i) => ({
        accountCode,
        direction: r.directions[i] as 'debit' | 'credit',
        amount: BigInt(r.amounts[i]),
        currency: r.currencies[i].trim(),
      })),
    }));
  }

  private async resolvePending(
    m: EntityManager,
    pendingId: string,
    kind: 'post_pending' | 'void_pending',
    event: HistoryEvent,
    loadId: string | null,
  ): Promise<Transfer> {
    return (await this.resolvePendingMany(m, [{ pendingId, kind, event, loadId }]))[0];
  }

  /**
   * Transactions, their entries and their places in the sealing queue (one statement), then each one's content
   * hash in its queue row (a second): the content is hashed from what the database stored and returned (its
   * created_at, its entry order), in the form the verifier reads back (journal-seal.ts).
   */
  private async writeJournal(
    m: EntityManager,
    txs: Array<{ header: JournalHeader; entries: Array<EntryInput & { accountId: string }> }>,
  ): Promise<Map<string, Date>> {
    const h = txs.map((t) => t.header);
    const e = txs.flatMap((t) => t.entries.map((x) => ({ ...x, txId: t.header.id })));
    const rows = await this.journal.insertTransactions(m, h, e);
    const codes = new Map(e.map((x) => [String(x.accountId), x.accountCode]));
    const headers = new Map(h.map((x) => [x.id.toLowerCase(), x]));
    const hashes = rows.map((r) => {
      const x = headers.get(r.id)!;
      return contentHash({
        id: r.id,
        kind: x.kind,
        pending_id: x.pendingId?.toLowerCase() ?? null,
        undoes_id: x.undoesId?.toLowerCase() ?? null,
        description: x.description === null ? null : asStored(x.description),
        metadata: x.metadata,
        created_at_utc: r.created_at_utc,
        entries: r.accounts.map((a, i) => ({
          code: codes.get(String(a))!,
          direction: r.directions[i],
          amount: r.amounts[i],
          currency: r.currencies[i],
        })),
      });
    });
    await this.journal.setContentHashes(
      m,
      rows.map((r) => r.id),
      hashes,
    );
    return new Map(rows.map((r) => [r.id, r.created_at]));
  }

  /**
   * Moves balances and appends one history row per transfer and account, in one round trip
   * (ledger_apply_deltas): rows are locked in ascending id order so that transfers sharing accounts (every
   * load shares its parent) queue instead of deadlocking, and the hot parent row is held only until COMMIT.
   */
  private async applyDeltas(m: EntityManager, moves: Move[], overdraft: Map<string, Account> | string | null): Promise<void> {
    // Stable sort: one account's moves keep the order of their transfers, so its history reads in that order.
    const sorted = moves
      .map((mv, i) => ({ mv, i }))
      .sort((a, b) => compareIds(a.mv.accountId, b.mv.accountId) || a.i - b.i)
      .map((x) => x.mv);
    try {
      await this.journal.applyDeltas(m, sorted);
    } catch (e) {
      if (pgCode(e) === '23514' && pgConstraint(e) === 'accounts_no_overdraft') {
        const code =
          typeof overdraft === 'string'
            ? overdraft
            : overdraft instanceof Map
              ? [...overdraft.values()].find((a) => a.noOverdraft)?.code
              : null;
        throw new InsufficientFundsError(code ?? 'unknown');
      }
      throw e;
    }
  }
}

/** Numeric order of bigint ids in their decimal form (no leading zeros), without a BigInt per comparison. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function zero(accountId: string): Delta {
  return { accountId, pendingDebits: 0n, pendingCredits: 0n, postedDebits: 0n, postedCredits: 0n };
}

function pendingDelta(e: EntryInput & { accountId: string }): Delta {
  const d = zero(e.accountId);
  if (e.direction === 'debit') d.pendingDebits = e.amount;
  else d.pendingCredits = e.amount;
  return d;
}

function postedDelta(e: EntryInput & { accountId: string }): Delta {
  const d = zero(e.accountId);
  if (e.direction === 'debit') d.postedDebits = e.amount;
  else d.postedCredits = e.amount;
  return d;
}

function addDelta(a: Delta, b: Delta): Delta {
  return {
    accountId: a.accountId,
    pendingDebits: a.pendingDebits + b.pendingDebits,
    pendingCredits: a.pendingCredits + b.pendingCredits,
    postedDebits: a.postedDebits + b.postedDebits,
    postedCredits: a.postedCredits + b.postedCredits,
  };
}

/** One delta per account, however many entries touch it. */
function deltasOf(entries: Array<EntryInput & { accountId: string }>, f: (e: EntryInput & { accountId: string }) => Delta): Delta[] {
  const out = new Map<string, Delta>();
  for (const e of entries) {
    const d = f(e);
    const prev = out.get(e.accountId);
    out.set(e.accountId, prev ? addDelta(prev, d) : d);
  }
  return [...out.values()];
}
