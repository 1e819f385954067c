import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { pgCode, pgConstraint } from '../database/transaction';
import { AlreadyResolvedError, AlreadyUndoneError, InsufficientFundsError } from './ledger.errors';
import {
  Account, AccountSpec, Direction, EntryInput, HistoryEvent, Transfer, TransferInput, TransferKind,
} from './ledger.types';

/** Upper bound on entries in one journal transaction (TigerBeetle: bound everything). */
export const MAX_ENTRIES = 100;

interface Delta {
  accountId: string;
  pendingDebits: bigint;
  pendingCredits: bigint;
  postedDebits: bigint;
  postedCredits: bigint;
}

type AccountRow = {
  id: string; code: string; currency: string; normal_side: 'debit' | 'credit'; no_overdraft: boolean; name: string | null;
  created_at: Date; pending_debits: string; pending_credits: string; posted_debits: string; posted_credits: string;
  history_seq: string;
};

export function toAccount(r: AccountRow): Account {
  return {
    id: String(r.id), code: r.code, currency: r.currency, normalSide: r.normal_side, noOverdraft: r.no_overdraft,
    name: r.name, createdAt: r.created_at, pendingDebits: BigInt(r.pending_debits), pendingCredits: BigInt(r.pending_credits),
    postedDebits: BigInt(r.posted_debits), postedCredits: BigInt(r.posted_credits), historySeq: BigInt(r.history_seq),
  };
}

/**
 * The only writer of journal rows, balances and balance history. Every method takes the caller's
 * transaction manager: a ledger step is always part of a business step, never a transaction of its own.
 */
@Injectable()
export class LedgerService {
  /** Creates the accounts that do not exist yet (concurrent creators are harmless) and returns all of them. */
  async ensureAccounts(m: EntityManager, specs: AccountSpec[]): Promise<Map<string, Account>> {
    if (specs.length > 0) {
      await m.query(
        `INSERT INTO accounts (code, currency, normal_side, no_overdraft, name)
         SELECT * FROM unnest($1::text[], $2::char(3)[], $3::text[], $4::boolean[], $5::text[])
         ORDER BY 1
         ON CONFLICT (code) DO NOTHING`,
        [specs.map((s) => s.code), specs.map((s) => s.currency), specs.map((s) => s.normalSide),
          specs.map((s) => s.noOverdraft ?? false), specs.map((s) => s.name ?? null)],
      );
    }
    return this.findAccounts(m, specs.map((s) => s.code));
  }

  /** Creates one account; null when the code is already taken (the caller decides whether that is a conflict). */
  async openAccount(m: EntityManager, spec: AccountSpec): Promise<Account | null> {
    const rows: AccountRow[] = await m.query(
      `INSERT INTO accounts (code, currency, normal_side, no_overdraft, name) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (code) DO NOTHING RETURNING *`,
      [spec.code, spec.currency, spec.normalSide, spec.noOverdraft ?? false, spec.name ?? null]);
    return rows.length ? toAccount(rows[0]) : null;
  }

  async findAccounts(m: EntityManager, codes: string[]): Promise<Map<string, Account>> {
    const rows: AccountRow[] = await m.query(`SELECT * FROM accounts WHERE code = ANY($1::text[])`, [codes]);
    return new Map(rows.map((r) => [r.code, toAccount(r)]));
  }

  /** Writes phase one of a two-phase transfer (kind 'pending') or a single-phase posted transfer. */
  async createTransfer(m: EntityManager, input: TransferInput): Promise<Transfer> {
    assert(input.entries.length >= 2 && input.entries.length <= MAX_ENTRIES, 'a transfer has 2..100 entries');
    const sums = new Map<string, bigint>();
    for (const e of input.entries) {
      assert(e.amount > 0n, 'entry amounts are positive');
      sums.set(e.currency, (sums.get(e.currency) ?? 0n) + (e.direction === 'debit' ? e.amount : -e.amount));
    }
    assert([...sums.values()].every((v) => v === 0n), 'a transfer balances per currency');
    const accounts = await this.findAccounts(m, input.entries.map((e) => e.accountCode));
    for (const e of input.entries) {
      const a = accounts.get(e.accountCode);
      assert(a !== undefined, `account ${e.accountCode} exists`);
      assert(a.currency === e.currency, `entry currency matches account ${e.accountCode}`);
    }
    const id = input.id ?? randomUUID();
    await this.lockAccounts(m, [...accounts.values()].map((a) => a.id));
    await m.query(
      `INSERT INTO journal_transactions (id, kind, undoes_id, description, metadata) VALUES ($1, $2, $3, $4, $5)`,
      [id, input.kind, input.undoesId ?? null, input.description ?? null, JSON.stringify(input.metadata ?? {})],
    ).catch((e: unknown) => {
      if (pgCode(e) === '23505' && pgConstraint(e) === 'journal_transactions_undone_once') throw new AlreadyUndoneError(String(input.undoesId));
      throw e;
    });
    const entries = input.entries.map((e) => ({ ...e, accountId: accounts.get(e.accountCode)!.id }));
    await this.insertEntries(m, id, entries);
    const phase = input.kind === 'pending' ? 'pending' : 'posted';
    await this.applyDeltas(m, id, deltasOf(entries, (e) => (phase === 'pending' ? pendingDelta(e) : postedDelta(e))),
      input.event, input.loadId ?? null, accounts);
    return this.getTransfer(m, id) as Promise<Transfer>;
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
    const rows: Array<{ id: string; kind: TransferKind; pending_id: string | null; undoes_id: string | null;
      description: string | null; metadata: Record<string, string>; created_at: Date }> =
      await m.query(`SELECT * FROM journal_transactions WHERE id = $1`, [id]);
    if (rows.length === 0) return null;
    const entries: Array<{ code: string; direction: Direction; amount: string; currency: string }> = await m.query(
      `SELECT a.code, e.direction, e.amount, e.currency FROM journal_entries e JOIN accounts a ON a.id = e.account_id
       WHERE e.transaction_id = $1 ORDER BY e.id`, [id]);
    const r = rows[0];
    return {
      id: r.id, kind: r.kind, pendingId: r.pending_id, undoesId: r.undoes_id, description: r.description,
      metadata: r.metadata, createdAt: r.created_at,
      entries: entries.map((e) => ({ accountCode: e.code, direction: e.direction, amount: BigInt(e.amount), currency: e.currency.trim() })),
    };
  }

  private async resolvePending(m: EntityManager, pendingId: string, kind: 'post_pending' | 'void_pending',
    event: HistoryEvent, loadId: string | null): Promise<Transfer> {
    const pending = await this.getTransfer(m, pendingId);
    assert(pending && pending.kind === 'pending', `transfer ${pendingId} is a pending transfer`);
    const id = randomUUID();
    // The unique index on pending_id decides a race before any balance is touched.
    await m.query(`INSERT INTO journal_transactions (id, kind, pending_id, description) VALUES ($1, $2, $3, $4)`,
      [id, kind, pendingId, pending.description]).catch((e: unknown) => {
      if (pgCode(e) === '23505') throw new AlreadyResolvedError(pendingId);
      throw e;
    });
    const accounts = await this.findAccounts(m, pending.entries.map((e) => e.accountCode));
    await this.lockAccounts(m, [...accounts.values()].map((a) => a.id));
    const entries = pending.entries.map((e) => ({ ...e, accountId: accounts.get(e.accountCode)!.id }));
    await this.insertEntries(m, id, entries);
    await this.applyDeltas(m, id, deltasOf(entries, (e) => {
      const release = pendingDelta(e, -1n);
      return kind === 'void_pending' ? release : addDelta(release, postedDelta(e));
    }), event, loadId, accounts);
    return (await this.getTransfer(m, id))!;
  }

  /**
   * Locks the touched accounts in id order before any row referencing them is written, so that concurrent
   * transfers sharing accounts (every load shares its parent) queue instead of deadlocking. NO KEY UPDATE is
   * the lock the balance UPDATE needs anyway, and it does not conflict with the KEY SHARE that entry
   * foreign keys take.
   */
  private async lockAccounts(m: EntityManager, ids: string[]): Promise<void> {
    await m.query(`SELECT 1 FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`, [ids]);
  }

  private async insertEntries(m: EntityManager, txId: string, entries: Array<EntryInput & { accountId: string }>): Promise<void> {
    await m.query(
      `INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
       SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::char(3)[])`,
      [txId, entries.map((e) => e.accountId), entries.map((e) => e.direction), entries.map((e) => e.amount.toString()),
        entries.map((e) => e.currency)],
    );
  }

  /** Moves balances (rows already locked by lockAccounts) and appends one history row per touched account. */
  private async applyDeltas(m: EntityManager, txId: string, deltas: Delta[], event: HistoryEvent, loadId: string | null,
    accounts: Map<string, Account>): Promise<void> {
    const sorted = [...deltas].sort((a, b) => (BigInt(a.accountId) < BigInt(b.accountId) ? -1 : 1));
    const ids = sorted.map((d) => d.accountId);
    const col = (f: (d: Delta) => bigint) => sorted.map((d) => f(d).toString());
    let rows: AccountRow[];
    try {
      const result = await m.query(
        `UPDATE accounts a SET pending_debits = a.pending_debits + d.pd, pending_credits = a.pending_credits + d.pc,
                posted_debits = a.posted_debits + d.sd, posted_credits = a.posted_credits + d.sc,
                history_seq = a.history_seq + 1
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS d(id, pd, pc, sd, sc)
         WHERE a.id = d.id
         RETURNING a.*`,
        [ids, col((d) => d.pendingDebits), col((d) => d.pendingCredits), col((d) => d.postedDebits), col((d) => d.postedCredits)],
      );
      rows = result[0] as AccountRow[];
    } catch (e) {
      if (pgCode(e) === '23514' && pgConstraint(e) === 'accounts_no_overdraft') {
        const code = [...accounts.values()].find((a) => a.noOverdraft)?.code ?? 'unknown';
        throw new InsufficientFundsError(code);
      }
      throw e;
    }
    assert(rows.length === sorted.length, 'every touched account was updated');
    const byId = new Map(sorted.map((d) => [d.accountId, d]));
    // One `at` for every row of the transaction (the column default would differ per row by microseconds):
    // a transfer happens at one moment on all its accounts, so a trial balance as of any moment balances.
    await m.query(
      `WITH moment AS MATERIALIZED (SELECT clock_timestamp() AS at)
       INSERT INTO account_history (account_id, seq, transaction_id, event, load_id, at,
         d_pending_debits, d_pending_credits, d_posted_debits, d_posted_credits,
         pending_debits, pending_credits, posted_debits, posted_credits)
       SELECT h.account_id, h.seq, $1, $2, $3, moment.at, h.dpd, h.dpc, h.dsd, h.dsc, h.pd, h.pc, h.sd, h.sc
       FROM moment, unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],
                   $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])
            AS h(account_id, seq, dpd, dpc, dsd, dsc, pd, pc, sd, sc)`,
      [txId, event, loadId,
        rows.map((r) => r.id), rows.map((r) => r.history_seq),
        rows.map((r) => byId.get(String(r.id))!.pendingDebits.toString()),
        rows.map((r) => byId.get(String(r.id))!.pendingCredits.toString()),
        rows.map((r) => byId.get(String(r.id))!.postedDebits.toString()),
        rows.map((r) => byId.get(String(r.id))!.postedCredits.toString()),
        rows.map((r) => r.pending_debits), rows.map((r) => r.pending_credits),
        rows.map((r) => r.posted_debits), rows.map((r) => r.posted_credits)],
    );
    await m.query(`INSERT INTO journal_unsealed (transaction_id) VALUES ($1)`, [txId]);
  }
}

function zero(accountId: string): Delta {
  return { accountId, pendingDebits: 0n, pendingCredits: 0n, postedDebits: 0n, postedCredits: 0n };
}

function pendingDelta(e: EntryInput & { accountId: string }, sign = 1n): Delta {
  const d = zero(e.accountId);
  if (e.direction === 'debit') d.pendingDebits = sign * e.amount;
  else d.pendingCredits = sign * e.amount;
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
    accountId: a.accountId, pendingDebits: a.pendingDebits + b.pendingDebits, pendingCredits: a.pendingCredits + b.pendingCredits,
    postedDebits: a.postedDebits + b.postedDebits, postedCredits: a.postedCredits + b.postedCredits,
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
