import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { cardAccountCode, parentAccountCode } from '../card-loads/intake-writer';
import { AuditActor, serviceActor } from '../audit-trail/audit-trail';
import { AuditTrail } from '../audit-trail/audit-trail.service';
import { assert } from '../common/assert';
import { ApiError } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { dataSourceUrl } from '../database/data-source';
import { withJobLock } from '../database/job-lock';
import { inTransaction } from '../database/transaction';
import { EnKashClient } from '../enkash/enkash.client';
import { EnKashOutcome } from '../enkash/enkash.types';
import { MetricsService } from '../metrics/metrics.service';
import { SettlementService } from '../sync/settlement.service';
import { mapBounded } from './bounded';
import { compareBalance, compareLoad, NewFinding } from './reconciliation.compare';
import { ReconciliationStore, RunTotals, RunTrigger, SettledCursor } from './reconciliation.store';
import { findingView, FindingView, RunRow, runView, RunView } from './reconciliation.view';

/** One run at a time across every instance; the lock goes away with its connection if we die (database/job-lock.ts). */
export const RECONCILIATION_LOCK_KEY = 7_310_412_101;
/** EnKash calls in flight at once: enough to finish thousands of lookups in minutes, few enough not to crowd the worker. */
const ENKASH_CONCURRENCY = 8;
const LOADS_PER_PAGE = 500;
/** Per run; a larger backlog is finished by the next runs, which start where this one stopped. */
const MAX_LOADS_PER_RUN = 20_000;
const CARDS_PER_CHUNK = 200;
/** Settlement times are taken before commit: a load committed late must still fall in the next window. */
const WINDOW_OVERLAP_MS = 15 * 60_000;
/** Findings in the reply to POST .../runs; the rest is in the report (?runId=). */
const FINDINGS_IN_REPLY = 500;
const ACTOR = 'reconciliation';

export interface RunResult {
  run: RunView;
  findings: FindingView[];
}

/** Why a run stops early: EnKash fails the same way for every call, the instance is shutting down, or the run lock was lost. */
interface RunControl {
  stopReason: string | null;
  lockLost: AbortSignal;
}

const mapOutcome = <T, U>(o: EnKashOutcome<T>, f: (v: T) => U): EnKashOutcome<U> =>
  o.kind === 'succeeded' ? { ...o, value: f(o.value) } : o;

/**
 * A reconciliation run: every load settled in the window is looked up by reference at EnKash and compared,
 * then every card those loads touched and the parent account are compared by balance. Findings are written
 * before anything is acted on; the only action is the undo of a load EnKash shows reversed (docs/design.md,
 * "A load's life", step 4). No DB transaction is open while EnKash is called.
 */
@Injectable()
export class ReconciliationService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ReconciliationService.name);
  private readonly findingsTotal: Counter<'kind'>;
  private stopping = false;
  private current: Promise<unknown> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    /** The one client of the process (registered once by app.module.ts), so logins share one token cache. */
    private readonly client: EnKashClient,
    private readonly store: ReconciliationStore,
    private readonly settlement: SettlementService,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly trail: AuditTrail,
    metrics: MetricsService,
  ) {
    this.findingsTotal = metrics.counter(
      'card_ledger_reconciliation_findings_total',
      'Discrepancies against EnKash recorded by reconciliation runs, by kind',
      'kind',
    );
  }

  /** Stop starting EnKash calls and let the run in flight record what it has (it ends as failed). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.current?.catch(() => undefined);
  }

  /** Null when another run, in this instance or another, holds the run lock (or this instance is stopping). */
  async run(trigger: RunTrigger, actor: AuditActor): Promise<RunResult | null> {
    if (this.stopping) return null;
    return withJobLock(dataSourceUrl(this.ds), RECONCILIATION_LOCK_KEY, 'reconciliation', async (lockLost) => {
      const work = this.runLocked(trigger, actor, lockLost);
      this.current = work;
      try {
        return await work;
      } finally {
        this.current = null;
      }
    });
  }

  private async runLocked(trigger: RunTrigger, actor: AuditActor, lockLost: AbortSignal): Promise<RunResult> {
    await this.store.abandonStaleRuns();
    const run = await this.store.startRun(trigger, await this.store.defaultWindowFrom());
    const totals: RunTotals = { checkedLoads: 0, checkedCards: 0, findingsCount: 0 };
    const control: RunControl = { stopReason: null, lockLost };
    try {
      const scan = await this.checkLoads(run, totals, control);
      await this.checkBalances(run.id, scan.cards, totals, control);
      if (control.stopReason) throw new Error(control.stopReason);
      await this.store.finishRun(run.id, totals, scan.window);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.logger.error(`reconciliation run ${run.id} failed: ${message}`);
      await this.store.finishRun(run.id, totals, { error: message });
    }
    const done = runView(await this.store.run(run.id));
    await inTransaction(this.ds, (m) =>
      this.trail.record(m, {
        ...actor,
        action: 'reconciliation.run',
        subject: done.id,
        details: {
          trigger,
          status: done.status,
          windowFrom: done.windowFrom,
          windowTo: done.windowTo,
          checkedLoads: done.checkedLoads,
          checkedCards: done.checkedCards,
          findingsCount: done.findingsCount,
          error: done.error,
        },
      }),
    );
    return { run: done, findings: (await this.store.runFindings(run.id, FINDINGS_IN_REPLY)).map(findingView) };
  }

  private shouldStop(control: RunControl): boolean {
    if (this.stopping && !control.stopReason) control.stopReason = 'stopped: the instance is shutting down';
    // Another instance may hold the lock now: stop calling EnKash and leave the window to the next run.
    if (control.lockLost.aborted && !control.stopReason) control.stopReason = 'stopped: the run lock was lost';
    return control.stopReason !== null;
  }

  /** Systemic = the same for every call (auth, config, encryption): more calls only add noise, or lock the login. */
  private observe<T>(control: RunControl, o: EnKashOutcome<T>): EnKashOutcome<T> {
    if (o.kind === 'systemic' && !control.stopReason) control.stopReason = `EnKash failed systemically (${o.reason}): ${o.message}`;
    return o;
  }

  private async checkLoads(run: RunRow, totals: RunTotals, control: RunControl) {
    const graceMs = this.config.sync.lookupGraceMs;
    const cards = new Set<string>();
    let after: SettledCursor | null = null;
    let oldestTooFresh: Date | null = null;
    let full = false;
    for (let page = 0; !full; page++) {
      assert(page <= MAX_LOADS_PER_RUN / LOADS_PER_PAGE, 'a run reads a bounded number of pages');
      const limit = Math.min(LOADS_PER_PAGE, MAX_LOADS_PER_RUN - totals.checkedLoads);
      const loads = await this.store.settledLoads(run.window_from, run.window_to, after, limit);
      if (loads.length === 0) break;
      const checks = await mapBounded(
        loads,
        ENKASH_CONCURRENCY,
        async (load) =>
          compareLoad(
            load,
            this.observe(
              control,
              await this.client.findLoadByReference(load.reference, {
                enKashCardId: load.enKashCardId,
                companyId: load.companyId,
                cardAccountId: load.cardAccountId,
              }),
            ),
            graceMs,
          ),
        () => this.shouldStop(control),
      );
      const findings: NewFinding[] = [];
      checks.forEach((check, i) => {
        if (check === undefined) return;
        totals.checkedLoads += 1;
        cards.add(loads[i].enKashCardId);
        if (check.verdict === 'finding') findings.push(check.finding);
        if (check.verdict === 'too_fresh' && (oldestTooFresh === null || loads[i].settledAt < oldestTooFresh))
          oldestTooFresh = loads[i].settledAt;
      });
      await this.record(run.id, findings, totals);
      for (const f of findings) if (f.kind === 'reversed_at_enkash') await this.undo(run.id, f);
      if (control.stopReason) break;
      after = loads[loads.length - 1].cursor;
      if (loads.length < limit) break;
      full = totals.checkedLoads >= MAX_LOADS_PER_RUN;
    }
    // The next run starts early enough to see loads committed late, and loads too fresh to judge this time.
    const earliest = (a: Date, b: Date | null) => (b !== null && b < a ? b : a);
    const nextFrom =
      full && after
        ? earliest(new Date(`${after.settledAt.slice(0, 23)}Z`), oldestTooFresh)
        : earliest(new Date(run.window_to.getTime() - WINDOW_OVERLAP_MS), oldestTooFresh);
    return { cards: [...cards], window: { windowTo: full && after ? after.settledAt : null, nextFrom: nextFrom.toISOString() } };
  }

  /** Each card read between two ledger reads, so that a load settling meanwhile widens the range instead of drifting. */
  private async checkBalances(runId: string, cards: string[], totals: RunTotals, control: RunControl): Promise<void> {
    for (let i = 0; i < cards.length && !this.shouldStop(control); i += CARDS_PER_CHUNK) {
      const chunk = cards.slice(i, i + CARDS_PER_CHUNK);
      const codes = chunk.map(cardAccountCode);
      const before = await this.store.balances(codes);
      const read = await mapBounded(
        chunk,
        ENKASH_CONCURRENCY,
        async (card) => this.observe(control, await this.client.getCard(card)),
        () => this.shouldStop(control),
      );
      const after = await this.store.balances(codes);
      const findings: NewFinding[] = [];
      read.forEach((o, j) => {
        if (o === undefined) return;
        totals.checkedCards += 1;
        const f = compareBalance({
          kind: 'card_balance_drift',
          accountCode: codes[j],
          before: before.get(codes[j])!,
          after: after.get(codes[j])!,
          call: 'card-balance',
          enkash: mapOutcome(o, (v) => ({ balanceMinor: v.otbBalanceMinor, raw: v.raw })),
          note: "the ledger knows loads only; spending on the card lowers EnKash's otbBalance below the ledger",
        });
        if (f) findings.push(f);
      });
      await this.record(runId, findings, totals);
    }
    if (this.shouldStop(control)) return;
    const code = parentAccountCode(this.config.enkash.cardAccountId);
    const before = (await this.store.balances([code])).get(code)!;
    const parent = this.observe(control, await this.client.getParentAccount());
    const after = (await this.store.balances([code])).get(code)!;
    const f = compareBalance({
      kind: 'parent_balance_drift',
      accountCode: code,
      before,
      after,
      call: 'parent-account',
      enkash: mapOutcome(parent, (v) => ({ balanceMinor: v.availableBalanceMinor, raw: v.raw })),
      note:
        'the ledger parent holds funding journal entries minus posted loads; ' +
        'it matches EnKash only while funding is mirrored in the ledger',
    });
    await this.record(runId, f ? [f] : [], totals);
  }

  private async record(runId: string, findings: NewFinding[], totals: RunTotals): Promise<void> {
    const written = await this.store.insertFindings(runId, findings);
    totals.findingsCount += written.length;
    for (const w of written) this.findingsTotal.inc({ kind: w.kind });
  }

  /** The finding is already recorded: if this fails, the next run sees the load still posted and tries again. */
  private async undo(runId: string, f: NewFinding): Promise<void> {
    assert(f.loadId !== null, 'a reversed_at_enkash finding names its load');
    try {
      const reason = `EnKash shows reference ${f.reference} reversed (reconciliation run ${runId})`;
      await this.settlement.undo(f.loadId, reason, serviceActor(ACTOR));
    } catch (e) {
      // Undone meanwhile (an operator, or a run that was just before us): the ledger already follows EnKash.
      if (e instanceof ApiError && e.code === 'invalid_state') return;
      throw e;
    }
  }
}
