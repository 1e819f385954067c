import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { pgCode } from '../../database/transaction';

/** One attached partition of journal_entries or account_history; lo is null for the legacy one (MINVALUE). */
export interface PartitionRow {
  parent: 'journal_entries' | 'account_history';
  part: string;
  lo: Date | null;
  hi: Date;
}

/** A month taken out of the live tables (ledger_archives), with the seal that closes it. */
export interface ArchiveRow {
  hi: Date;
  lo: Date;
  entries_table: string;
  history_table: string;
  status: 'detaching' | 'detached';
  last_seal_seq: string | null;
  last_seal_hash: Buffer | null;
  transactions: string;
  entries: string;
  history_rows: string;
}

/** Maintenance runs in one instance at a time (docs/operations.md, "Partitions and archive"). */
const MAINTENANCE_LOCK = 176491;

/**
 * The monthly partitions of journal_entries and account_history and the archive of old months (migration
 * 1765300000000-PartitionJournalByMonth; docs/operations.md, "Partitions and archive"): ledger_archives,
 * account_history_carried, and the DDL that makes, detaches and files away partitions.
 */
@Injectable()
export class PartitionsStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** Makes monthly partitions until one ends after `until`; -1 when another instance is at it. */
  async ensure(until: Date): Promise<number> {
    const [r]: Array<{ made: number }> = await this.ds.query(
      `SELECT CASE WHEN pg_try_advisory_xact_lock($2) THEN ledger_ensure_partitions($1) ELSE -1 END AS made`,
      [until.toISOString(), MAINTENANCE_LOCK],
    );
    return r.made;
  }

  /** How far both tables' partitions reach (the earlier of their newest partitions' ends); null without any. */
  async coveredUntil(): Promise<Date | null> {
    const [r]: Array<{ hi: Date | null }> = await this.ds.query(
      `SELECT CASE WHEN count(*) = 2 THEN min(hi) END AS hi FROM (SELECT parent, max(hi) AS hi FROM ledger_partitions() GROUP BY parent) x`,
    );
    return r.hi;
  }

  async partitions(): Promise<PartitionRow[]> {
    const rows: Array<{ parent: PartitionRow['parent']; part: string; lo: Date; hi: Date }> = await this.ds.query(
      `SELECT parent, part, CASE WHEN lo = '-infinity' THEN NULL ELSE lo END AS lo, hi FROM ledger_partitions()`,
    );
    return rows.map((r) => ({ ...r, lo: r.lo ?? null }));
  }

  /**
   * The archive point: nothing before it is in the live tables (a month being detached counts from the moment it is
   * recorded). Null when nothing is archived, or before this release's migration ran (reads go on meanwhile).
   */
  async archivedBefore(): Promise<Date | null> {
    try {
      const [r]: Array<{ hi: Date | null }> = await this.ds.query(`SELECT max(hi) AS hi FROM ledger_archives`);
      return r.hi;
    } catch (e) {
      if (pgCode(e) === '42P01') return null;
      throw e;
    }
  }

  async archives(): Promise<ArchiveRow[]> {
    return this.ds.query(`SELECT * FROM ledger_archives ORDER BY hi`);
  }

  /** Rows that would be cut from their transaction by archiving before `hi` (docs/operations.md lists the checks). */
  async straddling(hi: Date, part: { entries: string; history: string }): Promise<{ entries: number; history: number; unsealed: number }> {
    const [r]: Array<{ entries: number; history: number; unsealed: number }> = await this.ds.query(
      `SELECT (SELECT count(*) FROM ${quoteIdent(part.entries)} e JOIN journal_transactions t ON t.id = e.transaction_id
                WHERE t.created_at <> e.created_at)::int AS entries,
              (SELECT count(*) FROM account_history h JOIN journal_transactions t ON t.id = h.transaction_id
                WHERE h.at >= $1 AND h.at < $1::timestamptz + interval '1 day' AND t.created_at < $1)::int AS history,
              (SELECT count(*) FROM journal_unsealed WHERE created_at < $1)::int AS unsealed`,
      [hi.toISOString()],
    );
    return r;
  }

  /**
   * Pending transfers before `hi` neither posted nor voided (the first `limit`, and how many in all): archived, their
   * entries could no longer be posted or voided (ledger_resolve_pending reads them), so the month waits for them.
   */
  async openPending(hi: Date, limit = 10): Promise<{ ids: string[]; n: number }> {
    const rows: Array<{ id: string; n: number }> = await this.ds.query(
      `SELECT p.id, count(*) OVER ()::int AS n FROM journal_transactions p
       WHERE p.kind = 'pending' AND p.created_at < $1
         AND NOT EXISTS (SELECT 1 FROM journal_transactions r WHERE r.pending_id = p.id)
       ORDER BY p.created_at, p.id LIMIT ${limit}`,
      [hi.toISOString()],
    );
    return { ids: rows.map((r) => r.id), n: rows[0]?.n ?? 0 };
  }

  /**
   * Records the month as being archived, with its anchor (the last seal of a transaction before `hi`) and its counts,
   * and carries each account's last history row before `hi` over the gap (account_history_carried), in one
   * transaction: from its commit, reads before `hi` are answered "archived" and reads after it find the carried rows.
   */
  async record(m: EntityManager, a: { lo: Date | null; hi: Date; entries: string; history: string }): Promise<ArchiveRow> {
    const hi = a.hi.toISOString();
    await m.query(
      `INSERT INTO account_history_carried
       SELECT DISTINCT ON (h.account_id) h.*, $1::timestamptz FROM ${quoteIdent(a.history)} h ORDER BY h.account_id, h.seq DESC`,
      [hi],
    );
    const [row]: ArchiveRow[] = await m.query(
      `INSERT INTO ledger_archives (hi, lo, entries_table, history_table, status, last_seal_seq, last_seal_hash,
                                    transactions, entries, history_rows)
       SELECT $1, $2, $3, $4, 'detaching', s.seq, s.hash,
         (SELECT count(*) FROM journal_transactions WHERE created_at < $1 AND created_at >= $2),
         (SELECT count(*) FROM ${quoteIdent(a.entries)}), (SELECT count(*) FROM ${quoteIdent(a.history)})
       FROM (SELECT NULL) x LEFT JOIN LATERAL (
         SELECT s.seq, s.hash FROM journal_seals s JOIN journal_transactions t ON t.id = s.transaction_id
         WHERE t.created_at < $1 ORDER BY s.seq DESC LIMIT 1) s ON true
       RETURNING *`,
      [hi, a.lo ? a.lo.toISOString() : '-infinity', `ledger_archive.${a.entries}`, `ledger_archive.${a.history}`],
    );
    return row;
  }

  /** DETACH … CONCURRENTLY (outside any transaction); FINALIZE finishes one that an interruption left pending. */
  async detach(parent: string, part: string): Promise<void> {
    const pending: unknown[] = await this.ds.query(
      `SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relname = $1 AND i.inhdetachpending`,
      [part],
    );
    await this.ds.query(
      `ALTER TABLE ${quoteIdent(parent)} DETACH PARTITION ${quoteIdent(part)} ${pending.length ? 'FINALIZE' : 'CONCURRENTLY'}`,
    );
  }

  /** Files the detached tables into ledger_archive, append-only again (detaching dropped the parent's row triggers). */
  async file(hi: Date, parts: Array<{ parent: string; part: string }>): Promise<void> {
    await this.ds.transaction(async (m) => {
      for (const { parent, part } of parts) {
        await m.query(`ALTER TABLE ${quoteIdent(part)} SET SCHEMA ledger_archive`);
        await m.query(
          `CREATE TRIGGER ${quoteIdent(`${parent}_append_only`)} BEFORE DELETE OR UPDATE ON ledger_archive.${quoteIdent(part)}
           FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()`,
        );
      }
      await m.query(`UPDATE ledger_archives SET status = 'detached', detached_at = clock_timestamp() WHERE hi = $1`, [hi.toISOString()]);
    });
  }

  /**
   * Why `table` cannot stand for an archived journal_entries table (it does not exist, or lacks a column of
   * journal_entries with its type), or null when it can: `verify --archive` says so as a usage error.
   */
  async entriesShapeProblem(table: string): Promise<string | null> {
    const [r]: Array<{ here: boolean; missing: string | null }> = await this.ds.query(
      `SELECT to_regclass($1) IS NOT NULL AS here,
              (SELECT string_agg(c.attname || ' ' || format_type(c.atttypid, c.atttypmod), ', ' ORDER BY c.attnum)
               FROM pg_attribute c WHERE c.attrelid = 'journal_entries'::regclass AND c.attnum > 0 AND NOT c.attisdropped
                 AND NOT EXISTS (SELECT 1 FROM pg_attribute g WHERE g.attrelid = to_regclass($1) AND g.attname = c.attname
                                 AND g.atttypid = c.atttypid AND g.attnum > 0 AND NOT g.attisdropped)) AS missing`,
      [table],
    );
    if (!r.here) return `${table} does not exist`;
    return r.missing ? `${table} is not a journal_entries table: it lacks ${r.missing}` : null;
  }

  /** Whether a table (schema-qualified or not) exists here. */
  async exists(table: string): Promise<boolean> {
    const [r]: Array<{ oid: string | null }> = await this.ds.query(`SELECT to_regclass($1)::text AS oid`, [table]);
    return r.oid !== null;
  }
}

/** Partition names are made here and by ledger_ensure_partitions; quoted all the same. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A schema-qualified name (`ledger_archive.journal_entries_2027_01`, as ledger_archives records it), each part quoted. */
export function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}
