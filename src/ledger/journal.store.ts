import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { EntryRow } from '../accounts/account.view';
import { HistoryRow, SeriesRow } from '../cards/card-history.view';
import { Instant } from '../common/instant';
import { atOrBeforeSql, cursorInstantSql } from '../common/paging';
import { JournalEntryRow, JournalRow } from '../journal/journal.view';
import { AccountBalanceRow, CurrencyTotalRow } from '../reports/trial-balance.view';
import { byIds } from '../database/by-ids';
import { OlderSchemaFallback } from '../database/older-schema';
import { PRIMARY_TIMELINE_SQL } from '../database/identity-sql';
import { quoteQualified } from './partitions/partitions.store';
import { LedgerReads } from '../database/replica/ledger-reads';
import { SEAL_CREATED_AT_SQL } from './journal-seal';
import { EntryInput, HistoryEvent, Transfer, TransferKind } from './ledger.types';

/**
 * Each account's balance row as of a moment, from the append-only history: one backward descent of the
 * (account_id, at, seq) index per account (LATERAL ... LIMIT 1), where DISTINCT ON would read every
 * history row up to asOf. Accounts opened after asOf have no row and drop out. Every row of one transfer
 * shares one `at` (LedgerService), so any moment cuts between transfers and the columns balance.
 * With months archived (`carried`), an account whose live history starts after asOf takes the row carried over the
 * archive point (docs/operations.md, "Partitions and archive"); the caller has refused an asOf before the point.
 */
const balancesAsOf = (asOf: string, carried: boolean, dated: boolean) => `
  FROM accounts a
  CROSS JOIN LATERAL (${balanceSources('a', asOf, carried, dated)}) h
  WHERE ${atOrBeforeSql('a.created_at', asOf)}`;

/**
 * Where account `a`'s balances at `asOf` are, the first found answering: its row when it has not changed since
 * (`dated`), its last history row at or before the moment, the row carried over the archive point (`carried`).
 */
function balanceSources(a: string, asOf: string, carried: boolean, dated: boolean): string {
  const sources = [
    dated ? UNMOVED_SINCE(a, asOf) : null,
    `(SELECT h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits FROM account_history h
      WHERE h.account_id = ${a}.id AND ${atOrBeforeSql('h.at', asOf)} ORDER BY h.at DESC, h.seq DESC LIMIT 1)`,
    carried ? CARRIED(`${a}.id`) : null,
  ].filter((x) => x !== null);
  return sources.length === 1 ? sources[0] : `${sources.join(' UNION ALL ')} LIMIT 1`;
}

/**
 * An account not changed after the moment has, at that moment, the balances of its row: its last history row's
 * (invariant 3), dated by `history_at` (the opening row by created_at; a moved account's NULL is "not known" and
 * never matches). Put first in a UNION ALL … LIMIT 1, the history lookup runs only for accounts changed since
 * (docs/design.md, "The moment of an account's last change").
 */
const UNMOVED_SINCE = (a: string, asOf: string) =>
  `(SELECT ${a}.pending_debits, ${a}.pending_credits, ${a}.posted_debits, ${a}.posted_credits
    WHERE ${atOrBeforeSql(`CASE WHEN ${a}.history_seq = 0 THEN ${a}.created_at ELSE ${a}.history_at END`, asOf)})`;

/** The account's row carried over the archive point: its last history row before it (account_history_carried). */
const CARRIED = (account: string) => `(SELECT c.pending_debits, c.pending_credits, c.posted_debits, c.posted_credits
  FROM account_history_carried c WHERE c.account_id = ${account} ORDER BY c.seq DESC LIMIT 1)`;

/** Upper bound on entries in one journal transaction (TigerBeetle: bound everything). */
export const MAX_ENTRIES = 100;

export type JournalHeader = Omit<Transfer, 'createdAt' | 'entries'>;

/** One account's balance change by one transfer, with the history row's cause. */
export interface Move {
  accountId: string;
  pendingDebits: bigint;
  pendingCredits: bigint;
  postedDebits: bigint;
  postedCredits: bigint;
  txId: string;
  event: HistoryEvent;
  loadId: string | null;
}

/** A journal transaction as stored, with what its content hash needs (entries in insertion order). */
export type WrittenTransaction = {
  id: string;
  created_at: Date;
  created_at_utc: string;
  accounts: string[];
  directions: string[];
  amounts: string[];
  currencies: string[];
};

/**
 * A resolving transaction as ledger_resolve_pending wrote it (entries in order); it hashed the content itself. The
 * function also returns created_at_utc, which only that hash needed once: it is not read here.
 */
export type ResolvedTransaction = {
  id: string;
  pending_id: string;
  kind: TransferKind;
  description: string | null;
  created_at: Date;
  codes: string[];
  directions: string[];
  amounts: string[];
  currencies: string[];
};

/** Phase two of one pending transfer, with the id of the transaction that resolves it. */
export type PendingResolution = {
  id: string;
  pendingId: string;
  kind: 'post_pending' | 'void_pending';
  event: HistoryEvent;
  loadId: string | null;
};

/** ledger_resolve_pending's five arrays, in its order (card_loads_settle passes them on as they are). */
export const resolutionColumns = (items: PendingResolution[]) => [
  items.map((i) => i.pendingId),
  items.map((i) => i.kind),
  items.map((i) => i.event),
  items.map((i) => i.loadId),
  items.map((i) => i.id),
];

/** A journal_transactions row as stored: the journal listing's row without what the listing adds. */
export type JournalTransactionRow = Omit<JournalRow, 'created_at_cursor' | 'seal_seq' | 'seal_hash'>;

/** A page of one account's history: JournalStore.historyPage. */
export interface HistoryPageQuery {
  accountId: string;
  after: number | null;
  desc: boolean;
  seqFrom: number | null;
  seqTo: number | null;
  fromIso: string | null;
  toIso: string | null;
  limit: number;
}

export type HistoryBalanceRow = { pending_debits: string; pending_credits: string; posted_debits: string; posted_credits: string };

/**
 * How many parts the trial balance's totals are summed in at once: one index descent per account changed since the
 * moment is CPU on the database, and two parts on two cores took a 10,000-account total from 49 to 32 ms (three: 43,
 * four: 50; bench/RESULTS.md, "Issue 17, eighteenth step").
 */
const TOTALS_PARTS = 2;

const TOTAL_SUMS = ['posted_debits', 'posted_credits', 'pending_debits', 'pending_credits', 'debit_balance', 'credit_balance'] as const;

/** The parts' sums added per currency, in currency order (exact: paise as BigInt, back to text as Postgres gives them). */
function sumByCurrency(rows: CurrencyTotalRow[]): CurrencyTotalRow[] {
  const byCurrency = new Map<string, CurrencyTotalRow>();
  for (const r of rows) {
    const had = byCurrency.get(r.currency);
    if (!had) byCurrency.set(r.currency, { ...r });
    else for (const k of TOTAL_SUMS) had[k] = String(BigInt(had[k]) + BigInt(r[k]));
  }
  return [...byCurrency.values()].sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
}

/** One entry of a transfer as read back: its account's code, and the amount in paise as text. */
export type TransferEntryRow = Omit<JournalEntryRow, 'transaction_id'>;

/**
 * The journal: journal_transactions, journal_entries, the sealing queue (journal_unsealed) and the balance history
 * with the balances it moves (account_history, through ledger_apply_deltas), and the ledger's moments (docs/time.md).
 * LedgerService plans and checks transfers; this store only reads and writes them, always in the caller's transaction.
 */
@Injectable()
export class JournalStore {
  private readonly logger = new Logger(JournalStore.name);
  /**
   * Balance reads without `accounts.history_at` while its migration (1765460000000) has not run: a missing column. Said
   * as the functions' fallback is: each read then looks every account's history up, slower.
   */
  private readonly undated = new OlderSchemaFallback('42703', () =>
    this.logger.warn(
      'balance reads as of a moment leave accounts.history_at out for 10 s: its column (migration 1765460000000) is not in the database',
    ),
  );
  /**
   * The history page and balance reads as SQL while their functions' migration (1765490000000) has not run: an undefined
   * function. Said each time, at most every 10 s: a function that stays missing (a migration reverted) keeps reads slower.
   */
  private readonly unplanned = new OlderSchemaFallback('42883', () =>
    this.logger.warn(
      'the history page and balance reads go as SQL for 10 s: their functions (migration 1765490000000) are not in the database',
    ),
  );

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly reads: LedgerReads,
  ) {}

  /**
   * A balance read as of a moment, with the account row's moment (`dated`) when the schema has it. Reads go on while
   * migrations are pending (docs/operations.md): before migration 1765460000000 the column is missing (42703), and the
   * same read without it looks every account's history up, as reads did before it.
   */
  private datedRead<T>(sql: (dated: boolean) => string, args: unknown[]): Promise<T> {
    return this.undated.read(
      () => this.reads.query<T>(sql(true), args),
      () => this.reads.query<T>(sql(false), args),
    );
  }

  /**
   * Locks the given accounts (ascending id, as every writer does) and fixes the transaction's moment after the
   * locks: every row the transaction writes from then on carries it (docs/time.md). Returns the moment.
   */
  async beginMoment(m: EntityManager, accountIds: string[]): Promise<Date> {
    const [{ moment }]: Array<{ moment: Date }> = await m.query(`SELECT ledger_begin_moment($1::bigint[]) AS moment`, [accountIds]);
    return moment;
  }

  async transaction(m: EntityManager, id: string): Promise<JournalTransactionRow | null> {
    const rows = await m.query<JournalTransactionRow[]>(`SELECT * FROM journal_transactions WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  async entries(m: EntityManager, transactionId: string): Promise<Array<TransferEntryRow>> {
    // By the transaction's moment too, the partition key its entries share: Postgres reads one month, not all.
    return m.query(
      `SELECT a.code, e.direction, e.amount, e.currency FROM journal_transactions t
       JOIN journal_entries e ON e.transaction_id = t.id AND e.created_at = t.created_at JOIN accounts a ON a.id = e.account_id
       WHERE t.id = $1 ORDER BY e.id`,
      [transactionId],
    );
  }

  /**
   * The entries of a transaction in an archived month (docs/operations.md, "Partitions and archive"): null when its
   * month is not archived; `entries` null when the month's table is no longer in ledger_archive (dumped, dropped).
   */
  async archivedEntries(
    m: EntityManager,
    transactionId: string,
  ): Promise<{
    table: string;
    hi: Date;
    entries: Array<TransferEntryRow> | null;
  } | null> {
    const [month]: Array<{ entries_table: string; hi: Date; here: boolean }> = await m.query(
      `SELECT a.entries_table, a.hi, to_regclass(a.entries_table) IS NOT NULL AS here
       FROM journal_transactions t JOIN ledger_archives a ON t.created_at >= a.lo AND t.created_at < a.hi WHERE t.id = $1`,
      [transactionId],
    );
    if (!month) return null;
    if (!month.here) return { table: month.entries_table, hi: month.hi, entries: null };
    const entries = await m.query<Array<TransferEntryRow>>(
      `SELECT a.code, e.direction, e.amount, e.currency FROM ${quoteQualified(month.entries_table)} e JOIN accounts a ON a.id = e.account_id
       WHERE e.transaction_id = $1 ORDER BY e.id`,
      [transactionId],
    );
    return { table: month.entries_table, hi: month.hi, entries };
  }

  /** The transaction that posted this pending one (a posted load has one). */
  async postOf(m: EntityManager, pendingId: string): Promise<{ id: string }> {
    const [post]: Array<{ id: string }> = await m.query(
      `SELECT id FROM journal_transactions WHERE pending_id = $1 AND kind = 'post_pending'`,
      [pendingId],
    );
    return post;
  }

  /**
   * The resolving transactions of these pending ones, with their entries, sealing-queue rows (content hashed there,
   * migration 1765400000000), balances and history, under the accounts' turn (ledger_resolve_pending, migration
   * 1765210000000); returns what was written.
   */
  async resolvePending(m: EntityManager, items: PendingResolution[]): Promise<ResolvedTransaction[]> {
    return m.query(
      `SELECT * FROM ledger_resolve_pending($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[])`,
      resolutionColumns(items),
    );
  }

  /** Transactions, their entries and their places in the sealing queue, in one statement. */
  async insertTransactions(
    m: EntityManager,
    h: JournalHeader[],
    e: Array<EntryInput & { accountId: string; txId: string }>,
  ): Promise<WrittenTransaction[]> {
    return m.query(
      `WITH t AS (
         INSERT INTO journal_transactions (id, kind, pending_id, undoes_id, description, metadata)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::jsonb[])
         RETURNING id, created_at),
       e AS (
         INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
         SELECT x.tx, x.account_id, x.direction, x.amount, x.currency
         FROM unnest($7::uuid[], $8::bigint[], $9::text[], $10::bigint[], $11::char(3)[]) AS x(tx, account_id, direction, amount, currency)
         WHERE EXISTS (SELECT 1 FROM t WHERE t.id = x.tx)
         RETURNING id, transaction_id, account_id, direction, amount, currency),
       q AS (INSERT INTO journal_unsealed (transaction_id, created_at) SELECT id, created_at FROM t)
       SELECT t.id, t.created_at, ${SEAL_CREATED_AT_SQL('t.created_at')} AS created_at_utc,
              g.accounts, g.directions, g.amounts, g.currencies
       FROM t JOIN (SELECT transaction_id, array_agg(account_id ORDER BY id) AS accounts, array_agg(direction ORDER BY id) AS directions,
                           array_agg(amount::text ORDER BY id) AS amounts, array_agg(currency ORDER BY id) AS currencies
                    FROM e GROUP BY transaction_id) g ON g.transaction_id = t.id`,
      [
        h.map((x) => x.id),
        h.map((x) => x.kind),
        h.map((x) => x.pendingId),
        h.map((x) => x.undoesId),
        h.map((x) => x.description),
        h.map((x) => JSON.stringify(x.metadata)),
        e.map((x) => x.txId),
        e.map((x) => x.accountId),
        e.map((x) => x.direction),
        e.map((x) => x.amount.toString()),
        e.map((x) => x.currency),
      ],
    );
  }

  /** Each queued transaction's content hash, computed from what insertTransactions returned. */
  async setContentHashes(m: EntityManager, ids: string[], hashes: Buffer[]): Promise<void> {
    await m.query(
      `UPDATE journal_unsealed u SET content_hash = x.hash FROM unnest($1::uuid[], $2::bytea[]) AS x(id, hash)
       WHERE u.transaction_id = x.id`,
      [ids, hashes],
    );
  }

  /**
   * Moves balances and appends one history row per move (ledger_apply_deltas), in the given order: the caller sorts
   * by account id, so transfers sharing accounts queue instead of deadlocking.
   */
  async applyDeltas(m: EntityManager, sorted: Move[]): Promise<void> {
    const col = (f: (d: Move) => bigint) => sorted.map((d) => f(d).toString());
    await m.query(
      `SELECT ledger_apply_deltas($1::uuid[], $2::text[], $3::uuid[],
         $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])`,
      [
        sorted.map((d) => d.txId),
        sorted.map((d) => d.event),
        sorted.map((d) => d.loadId),
        sorted.map((d) => d.accountId),
        col((d) => d.pendingDebits),
        col((d) => d.pendingCredits),
        col((d) => d.postedDebits),
        col((d) => d.postedCredits),
      ],
    );
  }

  /**
   * The account's balances at the cut: its row's when it has not changed since, else its latest history row at or
   * before the cut, by the (account_id, at, seq) index. Null when the account did not exist at the cut.
   */
  async historyAt(accountId: string, cut: Instant, carried: boolean): Promise<HistoryBalanceRow | null> {
    const rows = await this.unplanned.read<HistoryBalanceRow[]>(
      () => this.reads.query(`SELECT * FROM account_balances_at($1, $2::timestamptz, $3)`, [accountId, cut.iso, carried]),
      () => this.historyAtAsSql(accountId, cut, carried),
    );
    return rows[0] ?? null;
  }

  /** historyAt before migration 1765490000000 made it a function (reads go on while migrations are pending). */
  private historyAtAsSql(accountId: string, cut: Instant, carried: boolean): Promise<HistoryBalanceRow[]> {
    return this.datedRead(
      (dated) => `SELECT h.* FROM accounts a CROSS JOIN LATERAL (${balanceSources('a', '$2', carried, dated)}) h WHERE a.id = $1`,
      [accountId, cut.iso],
    );
  }

  /**
   * A page of one account's history after `after` by seq (descending with `desc`), without the opening row (seq 0,
   * not a change); seq bounds inclusive from, exclusive to, times [from, to). One more row tells whether there is more.
   */
  async historyPage(f: HistoryPageQuery): Promise<HistoryRow[]> {
    // Each bound of seq not given is the open end of one range (a kept plan cannot drop a condition); seq 0, the
    // opening row, is never a change.
    const open = Number.MAX_SAFE_INTEGER;
    const lo = Math.max(0, f.seqFrom === null ? 0 : f.seqFrom - 1, f.after !== null && !f.desc ? f.after : 0);
    const hi = Math.min(f.seqTo ?? open, f.after !== null && f.desc ? f.after : open);
    return this.unplanned.read(
      () =>
        this.reads.query(`SELECT * FROM account_history_page($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7)`, [
          f.accountId,
          f.desc,
          lo,
          hi,
          // An empty bound is no bound, as in the SQL form.
          f.fromIso || '-infinity',
          f.toIso || 'infinity',
          f.limit + 1,
        ]),
      () => this.historyPageAsSql(f),
    );
  }

  /** historyPage before migration 1765490000000 made it a function (reads go on while migrations are pending). */
  private historyPageAsSql(f: HistoryPageQuery): Promise<HistoryRow[]> {
    const args: unknown[] = [f.accountId];
    const where = ['h.account_id = $1', 'h.seq > 0'];
    if (f.after !== null) where.push(`h.seq ${f.desc ? '<' : '>'} $${args.push(f.after)}`);
    if (f.seqFrom !== null) where.push(`h.seq >= $${args.push(f.seqFrom)}`);
    if (f.seqTo !== null) where.push(`h.seq < $${args.push(f.seqTo)}`);
    if (f.fromIso) where.push(`h.at >= $${args.push(f.fromIso)}::timestamptz`);
    if (f.toIso) where.push(`h.at < $${args.push(f.toIso)}::timestamptz`);
    return this.reads.query(
      `SELECT h.*, t.description FROM account_history h LEFT JOIN journal_transactions t ON t.id = h.transaction_id
       WHERE ${where.join(' AND ')} ORDER BY h.seq ${f.desc ? 'DESC' : 'ASC'} LIMIT $${args.push(f.limit + 1)}`,
      args,
    );
  }

  /** A series window's ends as timestamps: `from`, or the account's first history row when null, and `end`. */
  async seriesWindow(accountId: string, fromIso: string | null, endIso: string): Promise<{ f: Date; t: Date }> {
    const [w]: Array<{ f: Date; t: Date }> = await this.reads.query(
      `SELECT coalesce($2::timestamptz, (SELECT min(at) FROM account_history WHERE account_id = $1)) AS f,
              $3::timestamptz AS t`,
      [accountId, fromIso, endIso],
    );
    return w;
  }

  /**
   * The M4 points of one account's history in [f, t) over `buckets` equal time buckets (the first and last change and
   * the extremes of each balance per bucket), with the row in force at `f`, in seq order; `total` counts the window's rows.
   */
  async seriesPoints(accountId: string, f: Date, t: Date, buckets: number): Promise<Array<SeriesRow & { total: string }>> {
    return this.reads.query(
      `WITH h AS (
         SELECT seq, posted_credits - posted_debits AS posted, pending_credits - pending_debits AS pending,
                width_bucket(extract(epoch FROM at), extract(epoch FROM $2::timestamptz), extract(epoch FROM $3::timestamptz), $4) AS b
         FROM account_history WHERE account_id = $1 AND at >= $2 AND at < $3),
       kept AS (
         SELECT DISTINCT unnest(ARRAY[min(seq), max(seq), (min(ARRAY[posted, seq]))[2], (max(ARRAY[posted, -seq]))[2] * -1,
                                      (min(ARRAY[pending, seq]))[2], (max(ARRAY[pending, -seq]))[2] * -1]) AS seq
         FROM h GROUP BY b
         UNION
         (SELECT seq FROM account_history WHERE account_id = $1 AND at < $2 ORDER BY at DESC, seq DESC LIMIT 1))
       SELECT h.seq, h.at, h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits, (SELECT count(*) FROM h) AS total
       FROM kept JOIN account_history h ON h.account_id = $1 AND h.seq = kept.seq ORDER BY h.seq`,
      [accountId, f, t, buckets],
    );
  }

  /**
   * Journal transactions in (created_at, id) order with their seals and entries (two queries): one by id, or a
   * keyset page after `after` in [from, before) (before inclusive when it is a final cut), by kind and by card load.
   */
  async journalPage(f: {
    id?: string;
    after?: [string, string] | null;
    fromIso?: string | null;
    beforeIso?: string;
    beforeInclusive?: boolean;
    kind?: string;
    loadId?: string;
    limit: number;
  }): Promise<{ rows: JournalRow[]; entries: JournalEntryRow[] }> {
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    const where: string[] = [];
    if (f.id !== undefined) where.push(`t.id = ${arg(f.id)}`);
    if (f.after) where.push(`(t.created_at, t.id) > (${arg(f.after[0])}::timestamptz, ${arg(f.after[1])}::uuid)`);
    if (f.fromIso) where.push(`t.created_at >= ${arg(f.fromIso)}::timestamptz`);
    if (f.beforeIso !== undefined) where.push(`t.created_at ${f.beforeInclusive ? '<=' : '<'} ${arg(f.beforeIso)}::timestamptz`);
    if (f.kind) where.push(`t.kind = ${arg(f.kind)}`);
    // A load's every balance change names it and its transaction (account_history_load index).
    if (f.loadId) where.push(`t.id IN (SELECT transaction_id FROM account_history WHERE load_id = ${arg(f.loadId)})`);
    const rows: JournalRow[] = await this.reads.query(
      `SELECT t.*, ${cursorInstantSql('t.created_at')} AS created_at_cursor, s.seq AS seal_seq, s.hash AS seal_hash
       FROM journal_transactions t LEFT JOIN journal_seals s ON s.transaction_id = t.id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY t.created_at, t.id LIMIT ${f.limit}`,
      args,
    );
    const entries: JournalEntryRow[] =
      rows.length === 0
        ? []
        : await this.reads.query(
            `SELECT e.transaction_id, a.code, e.direction, e.amount, e.currency
       FROM ${byIds('journal_entries', 'e', 'transaction_id', MAX_ENTRIES)} JOIN accounts a ON a.id = e.account_id ORDER BY e.id`,
            [rows.map((r) => r.id)],
          );
    return { rows, entries };
  }

  /**
   * The trial balance's account lines as of a moment after code `after`, plus one row to tell whether there is more: each
   * account's balances at the moment: its row's when it has not changed since, else its balance row from the append-only
   * history (one backward descent of the (account_id, at, seq) index per account).
   */
  async trialBalanceLines(asOfIso: string, after: string, limit: number, carried: boolean): Promise<AccountBalanceRow[]> {
    return this.datedRead(
      (dated) =>
        `SELECT a.code, a.name, a.currency, a.normal_side, h.* ${balancesAsOf('$1', carried, dated)}
         AND a.code > $2 ORDER BY a.code LIMIT $3`,
      [asOfIso, after, limit + 1],
    );
  }

  /**
   * The totals over every account as of a moment, summed in TOTALS_PARTS parts that run at once, each on its own
   * connection over the accounts whose id falls in it (docs/design.md, "The trial balance's totals in parts"). Each part
   * reads only final rows (the caller's cut), so parts read in different snapshots still describe the one moment.
   */
  async trialBalanceTotals(asOfIso: string, carried: boolean): Promise<CurrencyTotalRow[]> {
    const parts = await Promise.all(
      Array.from({ length: TOTALS_PARTS }, (_, part) =>
        this.datedRead<CurrencyTotalRow[]>(
          (dated) => `SELECT a.currency, sum(h.posted_debits) AS posted_debits, sum(h.posted_credits) AS posted_credits,
              sum(h.pending_debits) AS pending_debits, sum(h.pending_credits) AS pending_credits,
              sum(greatest(h.posted_debits - h.posted_credits, 0)) AS debit_balance,
              sum(greatest(h.posted_credits - h.posted_debits, 0)) AS credit_balance
       ${balancesAsOf('$1', carried, dated)} AND a.id % $2 = $3 GROUP BY a.currency`,
          [asOfIso, TOTALS_PARTS, part],
        ),
      ),
    );
    return sumByCurrency(parts.flat());
  }

  /** One account's entries after entry id `after` in [from, to), oldest first, plus one row to tell whether there is more. */
  async accountEntries(f: {
    accountId: string;
    after: number;
    fromIso: string | null;
    toIso: string | null;
    limit: number;
  }): Promise<EntryRow[]> {
    const args: unknown[] = [f.accountId, f.after];
    const where = ['e.account_id = $1', 'e.id > $2'];
    if (f.fromIso) where.push(`e.created_at >= $${args.push(f.fromIso)}::timestamptz`);
    if (f.toIso) where.push(`e.created_at < $${args.push(f.toIso)}::timestamptz`);
    return this.reads.query(
      `SELECT e.id, e.transaction_id, t.kind, t.pending_id, t.undoes_id, t.description, e.direction, e.amount, e.currency, e.created_at
       FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
       WHERE ${where.join(' AND ')} ORDER BY e.id LIMIT $${args.push(f.limit + 1)}`,
      args,
    );
  }

  /**
   * Waits (in the database, up to waitMs) until `asOf`, or now, is final: ledger_await_final (docs/time.md). Returns the cut
   * (microseconds, UTC), the watermark below which everything is final, and where the primary's WAL stood once it was
   * known (the insert position and its timeline): the target list is computed after the function in FROM has returned,
   * so every transaction committed before the watermark was read lies before `lsn`. A replica that has replayed `lsn`
   * on that timeline has every row of the cut (docs/time.md, "Replicas").
   */
  async awaitFinal(
    asOfIso: string | null,
    callWaitMs: number,
    waitMs: number,
  ): Promise<{ cut: string; watermark_ms: number; lsn: string | null; timeline: number | null }> {
    const [r]: Array<{ cut: string; watermark_ms: number; lsn: string | null; timeline: number | null }> = await this.ds.query(
      `SELECT to_char(cut AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cut,
              floor(extract(epoch FROM watermark) * 1000)::float8 AS watermark_ms,
              CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_insert_lsn()::text END AS lsn,
              CASE WHEN NOT pg_is_in_recovery() THEN ${PRIMARY_TIMELINE_SQL} END AS timeline
       FROM ledger_await_final($1::timestamptz, $2, $3)`,
      [asOfIso, callWaitMs, waitMs],
    );
    return r;
  }

  /** The primary's current WAL timeline (null on a server in recovery): a cached sample is trusted only on its own. */
  async primaryTimeline(): Promise<number | null> {
    const [r]: Array<{ timeline: number | null }> = await this.ds.query(
      `SELECT CASE WHEN NOT pg_is_in_recovery() THEN ${PRIMARY_TIMELINE_SQL} END AS timeline`,
    );
    return r.timeline;
  }
}
