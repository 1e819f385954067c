import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { cursorInstantSql } from '../common/paging';
import { LedgerReads } from '../database/replica/ledger-reads';
import { NormalSide } from '../ledger/ledger.types';
import { LedgerBalance, NewFinding, SettledLoad, ZERO_BALANCE } from './reconciliation.compare';
import { FindingRow, RunRow } from './reconciliation.view';

export type RunTrigger = 'schedule' | 'manual';

/** A position in the settled-loads order: settlement instant (microseconds, as text) and id. */
export interface SettledCursor {
  settledAt: string;
  id: string;
}

export interface RunTotals {
  checkedLoads: number;
  checkedCards: number;
  findingsCount: number;
}

type SettledLoadRow = {
  id: string;
  reference: string;
  en_kash_card_id: string;
  company_id: string;
  card_account_id: string;
  amount: string;
  status: 'posted' | 'reversed';
  undone: boolean;
  settled_at: Date;
  settled_cursor: string;
  settled_age_ms: number;
};
type BalanceRow = {
  code: string;
  normal_side: NormalSide;
  posted_debits: string;
  posted_credits: string;
  pending_debits: string;
  pending_credits: string;
};

const SETTLED_AT = 'coalesce(posted_at, reversed_at)';

/** The SQL of reconciliation runs: one statement per step, no transaction held across an EnKash call. */
@Injectable()
export class ReconciliationStore {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    /** The report's reads (findings, runs, loads by status and age): the replica under an auditor read's plan. */
    private readonly reads: LedgerReads,
  ) {}

  /** Runs still marked running while we hold the run lock were left by a process that died mid-run. */
  async abandonStaleRuns(): Promise<void> {
    await this.ds.query(
      `UPDATE reconciliation_runs
       SET status = 'failed', finished_at = clock_timestamp(), error = 'abandoned: the instance running it stopped'
       WHERE status = 'running'`,
    );
  }

  /** Where the last completed run said the next one should start; null (the first load ever) when none completed. */
  async defaultWindowFrom(): Promise<Date | null> {
    const rows: Array<{ next_from: Date | null }> = await this.ds.query(
      `SELECT next_from FROM reconciliation_runs WHERE status = 'completed' ORDER BY started_at DESC LIMIT 1`,
    );
    return rows[0]?.next_from ?? null;
  }

  /** window_to is the database's now: a load settled later belongs to the next run. */
  async startRun(trigger: RunTrigger, windowFrom: Date | null): Promise<RunRow> {
    const [run]: RunRow[] = await this.ds.query(`INSERT INTO reconciliation_runs (trigger, window_from) VALUES ($1, $2) RETURNING *`, [
      trigger,
      windowFrom,
    ]);
    return run;
  }

  /** Only a run still running: one marked abandoned (our lock session was lost meanwhile) stays failed. */
  async finishRun(
    id: string,
    totals: RunTotals,
    outcome: { error: string } | { windowTo: string | null; nextFrom: string },
  ): Promise<void> {
    const failed = 'error' in outcome;
    await this.ds.query(
      `UPDATE reconciliation_runs SET status = $2, finished_at = clock_timestamp(), checked_loads = $3, checked_cards = $4,
         findings_count = $5, error = $6, window_to = coalesce($7::timestamptz, window_to), next_from = $8
       WHERE id = $1 AND status = 'running'`,
      [
        id,
        failed ? 'failed' : 'completed',
        totals.checkedLoads,
        totals.checkedCards,
        totals.findingsCount,
        failed ? outcome.error.slice(0, 1000) : null,
        failed ? null : outcome.windowTo,
        failed ? null : outcome.nextFrom,
      ],
    );
  }

  /** Posted or reversed loads settled in [from, to), in settlement order, after the cursor. */
  async settledLoads(
    from: Date | null,
    to: Date,
    after: SettledCursor | null,
    limit: number,
  ): Promise<Array<SettledLoad & { cursor: SettledCursor }>> {
    const args: unknown[] = [to, limit];
    const where = [`status IN ('posted', 'reversed')`, `${SETTLED_AT} < $1`];
    if (from) where.push(`${SETTLED_AT} >= $${args.push(from)}`);
    if (after) where.push(`(${SETTLED_AT}, id) > ($${args.push(after.settledAt)}::timestamptz, $${args.push(after.id)}::uuid)`);
    const rows: SettledLoadRow[] = await this.ds.query(
      `SELECT id, reference, en_kash_card_id, company_id, card_account_id, amount, status, undone_at IS NOT NULL AS undone,
              ${SETTLED_AT} AS settled_at, ${cursorInstantSql(SETTLED_AT)} AS settled_cursor,
              (extract(epoch FROM clock_timestamp() - ${SETTLED_AT}) * 1000)::float8 AS settled_age_ms
       FROM card_loads WHERE ${where.join(' AND ')} ORDER BY ${SETTLED_AT}, id LIMIT $2`,
      args,
    );
    return rows.map((r) => ({
      id: r.id,
      reference: r.reference,
      enKashCardId: r.en_kash_card_id,
      companyId: r.company_id,
      cardAccountId: r.card_account_id,
      amountMinor: BigInt(r.amount),
      status: r.status,
      undone: r.undone,
      settledAt: r.settled_at,
      settledAgeMs: r.settled_age_ms,
      cursor: { settledAt: r.settled_cursor, id: r.id },
    }));
  }

  /** Current balances by account code; an account that does not exist yet reads as zero. */
  async balances(codes: string[]): Promise<Map<string, LedgerBalance>> {
    const rows: BalanceRow[] = await this.ds.query(
      `SELECT code, normal_side, posted_debits, posted_credits, pending_debits, pending_credits FROM accounts WHERE code = ANY($1::text[])`,
      [codes],
    );
    const found = new Map(
      rows.map((r) => [
        r.code,
        {
          normalSide: r.normal_side,
          postedDebitsMinor: BigInt(r.posted_debits),
          postedCreditsMinor: BigInt(r.posted_credits),
          pendingDebitsMinor: BigInt(r.pending_debits),
          pendingCreditsMinor: BigInt(r.pending_credits),
        },
      ]),
    );
    return new Map(codes.map((code) => [code, found.get(code) ?? ZERO_BALANCE]));
  }

  /** Appends findings; a load mismatch some earlier run already recorded is skipped. Returns the rows written. */
  async insertFindings(runId: string, findings: NewFinding[]): Promise<FindingRow[]> {
    if (findings.length === 0) return [];
    const col = <T>(f: (n: NewFinding) => T) => findings.map(f);
    return this.ds.query(
      `INSERT INTO reconciliation_findings (run_id, kind, load_id, reference, account_code, ledger_amount, enkash_amount, evidence)
       SELECT $1::uuid, * FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::jsonb[])
       ON CONFLICT DO NOTHING RETURNING *`,
      [
        runId,
        col((n) => n.kind),
        col((n) => n.loadId),
        col((n) => n.reference),
        col((n) => n.accountCode),
        col((n) => n.ledgerAmountMinor?.toString() ?? null),
        col((n) => n.enkashAmountMinor?.toString() ?? null),
        col((n) => JSON.stringify(n.evidence)),
      ],
    );
  }

  async run(id: string): Promise<RunRow> {
    const [run]: RunRow[] = await this.ds.query(`SELECT * FROM reconciliation_runs WHERE id = $1`, [id]);
    return run;
  }

  async runFindings(runId: string, limit: number): Promise<FindingRow[]> {
    return this.ds.query(`SELECT * FROM reconciliation_findings WHERE run_id = $1 ORDER BY id LIMIT $2`, [runId, limit]);
  }

  /** Findings found in [from, to) before id `before`, newest first, plus one row to tell whether there is more. */
  async findingsPage(f: {
    before: number | null;
    fromIso: string | null;
    toIso: string | null;
    runId?: string;
    limit: number;
  }): Promise<FindingRow[]> {
    const args: unknown[] = [];
    const where = ['true'];
    if (f.before !== null) where.push(`id < $${args.push(f.before)}`);
    if (f.fromIso) where.push(`found_at >= $${args.push(f.fromIso)}::timestamptz`);
    if (f.toIso) where.push(`found_at < $${args.push(f.toIso)}::timestamptz`);
    if (f.runId !== undefined) where.push(`run_id = $${args.push(f.runId)}`);
    return this.reads.query(
      `SELECT * FROM reconciliation_findings WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${args.push(f.limit + 1)}`,
      args,
    );
  }

  /** Runs before the (started_at, id) cursor, newest first, plus one row to tell whether there is more. */
  async runsPage(cursor: [string, string] | null, limit: number): Promise<Array<RunRow & { started_at_cursor: string }>> {
    return this.reads.query(
      `SELECT *, ${cursorInstantSql('started_at')} AS started_at_cursor FROM reconciliation_runs
       WHERE ($1::timestamptz IS NULL OR (started_at, id) < ($1::timestamptz, $2::uuid))
       ORDER BY started_at DESC, id DESC LIMIT $3`,
      [cursor?.[0] ?? null, cursor?.[1] ?? null, limit + 1],
    );
  }

  async lastRun(): Promise<RunRow | null> {
    const rows: RunRow[] = await this.reads.query(`SELECT * FROM reconciliation_runs ORDER BY started_at DESC LIMIT 1`);
    return rows[0] ?? null;
  }

  /** Loads created in [from, to) by currency and status: count and amount (summed as bigint, per currency). */
  async loadsByStatus(
    fromIso: string | null,
    toIso: string | null,
  ): Promise<Array<{ currency: string; status: string; count: number; amount: string }>> {
    const args: unknown[] = [];
    return this.reads.query(
      `SELECT currency, status, count(*)::int AS count, sum(amount)::text AS amount FROM card_loads
       WHERE ${createdIn(fromIso, toIso, args)} GROUP BY currency, status`,
      args,
    );
  }

  /**
   * Loads created in [from, to) still in one of `statuses`, counted per status in each age bucket, aged at `now` (the
   * primary's clock, from now() below: a replica's clock is another host's, docs/time.md "Replicas").
   */
  async openAges(
    statuses: readonly string[],
    buckets: ReadonlyArray<readonly [string, string]>,
    fromIso: string | null,
    toIso: string | null,
    now: Date,
  ): Promise<Array<{ status: string } & Record<`b${number}`, number>>> {
    const args: unknown[] = [statuses, now];
    return this.reads.query(
      `SELECT status, ${buckets.map(([, when], i) => `count(*) FILTER (WHERE ${when})::int AS b${i}`).join(', ')}
       FROM (SELECT status, $2::timestamptz - created_at AS age FROM card_loads
             WHERE status = ANY($1::text[]) AND ${createdIn(fromIso, toIso, args)}) o
       GROUP BY status`,
      args,
    );
  }

  /** The primary's clock, never the replica's: the report's asOf and its ages are the ledger's time (docs/time.md). */
  async now(): Promise<Date> {
    const [{ now }]: Array<{ now: Date }> = await this.ds.query(`SELECT clock_timestamp() AS now`);
    return now;
  }
}

function createdIn(fromIso: string | null, toIso: string | null, args: unknown[]): string {
  const where = ['true'];
  if (fromIso) where.push(`created_at >= $${args.push(fromIso)}::timestamptz`);
  if (toIso) where.push(`created_at < $${args.push(toIso)}::timestamptz`);
  return where.join(' AND ');
}
