import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { csvOf, KeysetList } from '../common/csv';
import { badField } from '../common/errors';
import { formatMinor } from '../common/money';
import { Instant, msIso } from '../common/instant';
import {
  checkCursorInstant, checkCursorPart, cursorInstantSql, decodeCursor, encodeCursor, parseLimit, parseRange, UUID,
} from '../common/paging';
import { LedgerClock } from '../ledger/ledger-clock';
import { ReconciliationQuery, ReconciliationRunsQuery } from './reconciliation.dto';
import { FINDING_CSV, FindingRow, findingView, FindingView, RunRow, runView } from './reconciliation.view';

const STATUSES = ['pending', 'posted', 'reversed', 'needs_review'] as const;
const OPEN_STATUSES = ['pending', 'needs_review'] as const;
/** Ages of loads still waiting, measured from creation by the database clock. */
const AGE_BUCKETS = [
  ['<1m', `age < interval '1 minute'`],
  ['1-5m', `age >= interval '1 minute' AND age < interval '5 minutes'`],
  ['5-60m', `age >= interval '5 minutes' AND age < interval '1 hour'`],
  ['1-24h', `age >= interval '1 hour' AND age < interval '24 hours'`],
  ['>24h', `age >= interval '24 hours'`],
] as const;

interface Window {
  from: Instant | null;
  to: Instant | null;
}

/**
 * GET /v1/reports/reconciliation: what the ledger holds (loads by status, what still waits and for how
 * long) next to what runs found against EnKash. Reads only, so it works without an EnKash client.
 */
@Injectable()
export class ReconciliationReport {
  constructor(@InjectDataSource() private readonly ds: DataSource, private readonly clock: LedgerClock) {}

  /** Findings found in [from, to), newest first, keyset on the append-only id. */
  findings(q: ReconciliationQuery): KeysetList<FindingView, number> {
    const limit = parseLimit(q.limit);
    const { from, to } = parseRange(q);
    const cursor = decodeCursor(q.cursor, ['integer']);
    if (q.runId !== undefined && !UUID.test(q.runId)) throw badField('runId', 'must be a reconciliation run id (a UUID)');
    return {
      start: cursor ? Number(cursor[0]) : null, limit, csv: csvOf(FINDING_CSV), encode: (id) => encodeCursor([id]),
      fetch: async (after, n) => {
        const args: unknown[] = [];
        const where = ['true'];
        if (after !== null) where.push(`id < $${args.push(after)}`);
        if (from) where.push(`found_at >= $${args.push(from.iso)}::timestamptz`);
        if (to) where.push(`found_at < $${args.push(to.iso)}::timestamptz`);
        if (q.runId !== undefined) where.push(`run_id = $${args.push(q.runId)}`);
        const rows: FindingRow[] = await this.ds.query(
          `SELECT * FROM reconciliation_findings WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${args.push(n + 1)}`, args);
        const page = rows.slice(0, n).map(findingView);
        return { rows: page, next: rows.length > n ? Number(page[page.length - 1].id) : null };
      },
    };
  }

  /** Every run, newest first (scheduled and manual, failed ones with their error), keyset on (started_at, id). */
  async runs(q: ReconciliationRunsQuery) {
    const limit = parseLimit(q.limit);
    const cursor = decodeCursor(q.cursor, ['string', 'string']) as [string, string] | null;
    if (cursor) {
      checkCursorInstant(cursor[0]);
      checkCursorPart(UUID.test(cursor[1]));
    }
    const rows: Array<RunRow & { started_at_cursor: string }> = await this.ds.query(
      `SELECT *, ${cursorInstantSql('started_at')} AS started_at_cursor FROM reconciliation_runs
       WHERE ($1::timestamptz IS NULL OR (started_at, id) < ($1::timestamptz, $2::uuid))
       ORDER BY started_at DESC, id DESC LIMIT $3`, [cursor?.[0] ?? null, cursor?.[1] ?? null, limit + 1]);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(runView), nextCursor: rows.length > limit && last ? encodeCursor([last.started_at_cursor, last.id]) : null };
  }

  async report(q: ReconciliationQuery) {
    const findings = this.findings(q);
    const window = parseRange(q);
    // The loads created in [from, to) are a fixed set once every row before `to` is final (docs/time.md).
    if (window.to) await this.clock.finalBefore(window.to);
    const [loads, ageBuckets, lastRun, page, asOf] = await Promise.all([
      this.loadsByStatus(window), this.ageBuckets(window), this.lastRun(), findings.fetch(findings.start, findings.limit), this.now(),
    ]);
    return {
      from: window.from ? msIso(window.from) : null, to: window.to ? msIso(window.to) : null, asOf: asOf.toISOString(),
      ...loads, ageBuckets, lastRun,
      data: page.rows, nextCursor: page.next === null ? null : findings.encode(page.next),
    };
  }

  private inWindow(w: Window, args: unknown[]): string {
    const where = ['true'];
    if (w.from) where.push(`created_at >= $${args.push(w.from.iso)}::timestamptz`);
    if (w.to) where.push(`created_at < $${args.push(w.to.iso)}::timestamptz`);
    return where.join(' AND ');
  }

  /** Every status for every currency that has loads, zeros included, so the shape never depends on the data. */
  private async loadsByStatus(w: Window) {
    const args: unknown[] = [];
    const groups: Array<{ currency: string; status: string; count: number; amount: string }> = await this.ds.query(
      `SELECT currency, status, count(*)::int AS count, sum(amount)::text AS amount FROM card_loads
       WHERE ${this.inWindow(w, args)} GROUP BY currency, status`, args);
    const currencies = [...new Set(groups.map((g) => g.currency.trim()))].sort();
    const of = (currency: string) => groups.filter((g) => g.currency.trim() === currency);
    return {
      loads: currencies.flatMap((currency) => STATUSES.map((status) => {
        const g = of(currency).find((r) => r.status === status);
        return { currency, status, count: g?.count ?? 0, amount: formatMinor(g?.amount ?? 0) };
      })),
      totals: currencies.map((currency) => ({
        currency, count: of(currency).reduce((n, r) => n + r.count, 0), amount: formatMinor(of(currency).reduce((s, r) => s + BigInt(r.amount), 0n)),
      })),
    };
  }

  /** Served by card_loads_status (status, created_at): only the open statuses are read. */
  private async ageBuckets(w: Window) {
    const args: unknown[] = [OPEN_STATUSES];
    const rows: Array<{ status: string } & Record<`b${number}`, number>> = await this.ds.query(
      `SELECT status, ${AGE_BUCKETS.map(([, when], i) => `count(*) FILTER (WHERE ${when})::int AS b${i}`).join(', ')}
       FROM (SELECT status, clock_timestamp() - created_at AS age FROM card_loads
             WHERE status = ANY($1::text[]) AND ${this.inWindow(w, args)}) o
       GROUP BY status`, args);
    return OPEN_STATUSES.map((status) => {
      const r = rows.find((x) => x.status === status);
      return { status, buckets: Object.fromEntries(AGE_BUCKETS.map(([name], i) => [name, r?.[`b${i}`] ?? 0])) };
    });
  }

  private async lastRun() {
    const rows: RunRow[] = await this.ds.query(`SELECT * FROM reconciliation_runs ORDER BY started_at DESC LIMIT 1`);
    return rows.length ? runView(rows[0]) : null;
  }

  private async now(): Promise<Date> {
    const [{ now }]: Array<{ now: Date }> = await this.ds.query(`SELECT clock_timestamp() AS now`);
    return now;
  }
}
