import { Injectable } from '@nestjs/common';
import { KeysetList } from '../common/csv';
import { badField } from '../common/errors';
import { formatMinor } from '../common/money';
import { Instant, msIso } from '../common/instant';
import { checkCursorInstant, checkCursorPart, decodeCursor, encodeCursor, keyedList, parseLimit, parseRange, UUID } from '../common/paging';
import { LedgerClock } from '../ledger/ledger-clock';
import { ReconciliationQuery, ReconciliationRunsQuery } from './reconciliation.dto';
import { ReconciliationStore } from './reconciliation.store';
import { FINDING_CSV, findingView, FindingView, runView } from './reconciliation.view';

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
  constructor(
    private readonly store: ReconciliationStore,
    private readonly clock: LedgerClock,
  ) {}

  /** Findings found in [from, to), newest first, keyset on the append-only id. */
  findings(q: ReconciliationQuery): KeysetList<FindingView, number> {
    const limit = parseLimit(q.limit);
    const { from, to } = parseRange(q);
    const cursor = decodeCursor(q.cursor, ['integer']);
    if (q.runId !== undefined && !UUID.test(q.runId)) throw badField('runId', 'must be a reconciliation run id (a UUID)');
    return keyedList(cursor ? Number(cursor[0]) : null, limit, FINDING_CSV, {
      read: (before, n) =>
        this.store.findingsPage({ before, fromIso: from?.iso ?? null, toIso: to?.iso ?? null, runId: q.runId, limit: n }),
      view: findingView,
      key: (f) => Number(f.id),
    });
  }

  /** Every run, newest first (scheduled and manual, failed ones with their error), keyset on (started_at, id). */
  async runs(q: ReconciliationRunsQuery) {
    const limit = parseLimit(q.limit);
    const cursor = decodeCursor(q.cursor, ['string', 'string']) as [string, string] | null;
    if (cursor) {
      checkCursorInstant(cursor[0]);
      checkCursorPart(UUID.test(cursor[1]));
    }
    const rows = await this.store.runsPage(cursor, limit);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(runView), nextCursor: rows.length > limit && last ? encodeCursor([last.started_at_cursor, last.id]) : null };
  }

  async report(q: ReconciliationQuery) {
    const findings = this.findings(q);
    const window = parseRange(q);
    // The loads created in [from, to) are a fixed set once every row before `to` is final (docs/time.md).
    if (window.to) await this.clock.finalBefore(window.to, false);
    const asOf = await this.now();
    const [loads, ageBuckets, lastRun, page] = await Promise.all([
      this.loadsByStatus(window),
      this.ageBuckets(window, asOf),
      this.lastRun(),
      findings.fetch(findings.start, findings.limit),
    ]);
    return {
      from: window.from ? msIso(window.from) : null,
      to: window.to ? msIso(window.to) : null,
      asOf: asOf.toISOString(),
      ...loads,
      ageBuckets,
      lastRun,
      data: page.rows,
      nextCursor: page.next === null ? null : findings.encode(page.next),
    };
  }

  /** Every status for every currency that has loads, zeros included, so the shape never depends on the data. */
  private async loadsByStatus(w: Window) {
    const groups = await this.store.loadsByStatus(w.from?.iso ?? null, w.to?.iso ?? null);
    const currencies = [...new Set(groups.map((g) => g.currency.trim()))].sort();
    const of = (currency: string) => groups.filter((g) => g.currency.trim() === currency);
    return {
      loads: currencies.flatMap((currency) =>
        STATUSES.map((status) => {
          const g = of(currency).find((r) => r.status === status);
          return { currency, status, count: g?.count ?? 0, amount: formatMinor(g?.amount ?? 0) };
        }),
      ),
      totals: currencies.map((currency) => ({
        currency,
        count: of(currency).reduce((n, r) => n + r.count, 0),
        amount: formatMinor(of(currency).reduce((s, r) => s + BigInt(r.amount), 0n)),
      })),
    };
  }

  /** Served by card_loads_status (status, created_at): only the open statuses are read. */
  private async ageBuckets(w: Window, now: Date) {
    const rows = await this.store.openAges(OPEN_STATUSES, AGE_BUCKETS, w.from?.iso ?? null, w.to?.iso ?? null, now);
    return OPEN_STATUSES.map((status) => {
      const r = rows.find((x) => x.status === status);
      return { status, buckets: Object.fromEntries(AGE_BUCKETS.map(([name], i) => [name, r?.[`b${i}`] ?? 0])) };
    });
  }

  private async lastRun() {
    const row = await this.store.lastRun();
    return row ? runView(row) : null;
  }

  private now(): Promise<Date> {
    return this.store.now();
  }
}
