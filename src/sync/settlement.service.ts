import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditActor } from '../audit-trail/audit-trail';
import { AuditTrail } from '../audit-trail/audit-trail.service';
import { invalidState, loadInFlight, notFound } from '../common/errors';
import { GroupCommit, Outcome } from '../common/group-commit';
import { inTransaction } from '../database/transaction';
import { AlreadyResolvedError } from '../ledger/ledger.errors';
import { LedgerService } from '../ledger/ledger.service';
import { MetricsService } from '../metrics/metrics.service';
import { AttemptRecord, ClaimedJob, JobHold, SyncJobsStore } from './sync-jobs.store';
import { CardLoadsStore, LoadLock } from '../card-loads/card-loads.store';
import { WebhookOutbox } from '../webhooks/webhook-outbox';

export type FinalStatus = 'posted' | 'reversed';

/** A worker's claim on a load's job: its writes count only while this exact claim still holds the job. */
export interface ClaimFence {
  token: string;
  owner: string;
}

export interface SettleContext {
  reason: string;
  actor: string;
  attempt?: AttemptRecord;
  requestId?: string | null;
  /** The worker: settles only while its claim holds the job (else 'fenced', nothing written). */
  claim?: ClaimFence;
  /** An operator resolution: only from needs_review, and only while the job is parked (no exchange in flight). */
  operator?: true;
  /** Who decided, for the audit trail (operator resolutions). */
  audit?: AuditActor;
}

/**
 * 'fenced': the worker's claim no longer holds the job; nothing was written (another claim will settle it).
 * 'applied': a worker's reversal refused because EnKash answered success to a send of the load after the worker
 * gave up on it (the load is applied; post it).
 */
export type SettleResult = 'settled' | 'already' | 'fenced' | 'applied';

type SettleItem = { loadId: string; to: FinalStatus; ctx: SettleContext };

/** Upper bound on loads settled in one transaction. */
export const SETTLE_BATCH_MAX = 200;

/**
 * Moves a load out of pending (or needs_review) exactly once: the job and load rows are locked (in that order),
 * the writer's right to act is checked under those locks (the worker's claim token, or an operator's parked job),
 * the ledger resolves the pending transfer (a unique resolving row backs the status check), and the outbox job
 * goes away, all in one transaction, shared by every settlement that arrives meanwhile (the parent account is hot).
 */
@Injectable()
export class SettlementService {
  private readonly group = new GroupCommit<SettleItem, SettleResult>('settlement', (batch) => this.settleBatch(batch), SETTLE_BATCH_MAX);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly ledger: LedgerService,
    private readonly jobs: SyncJobsStore,
    private readonly loads: CardLoadsStore,
    private readonly metrics: MetricsService,
    private readonly trail: AuditTrail,
    // Stateless (it writes with the caller's transaction), so contexts that list providers by hand (the CLI) get one too.
    private readonly webhooks: WebhookOutbox,
  ) {}

  /** Settles one load; concurrent calls share one transaction (group commit), each with its own answer. */
  async settle(loadId: string, to: FinalStatus, ctx: SettleContext): Promise<SettleResult> {
    // Postgres answers uuids in lower case; rows are matched to items by that text.
    const result = await this.group.submit({ loadId: loadId.toLowerCase(), to, ctx });
    if (result === 'settled') this.metrics.settlements.inc({ status: to });
    return result;
  }

  private async settleBatch(items: SettleItem[]): Promise<Map<SettleItem, Outcome<SettleResult>>> {
    try {
      return await inTransaction(this.ds, (m) => this.writeSettlements(m, items));
    } catch (e) {
      // Someone resolved the transfer between our status check and our write (the unique resolving row said
      // so). Alone, that simply means "already settled"; in a batch, GroupCommit retries each item alone.
      if (!(e instanceof AlreadyResolvedError) || items.length > 1) throw e;
      const [item] = items;
      const { attempt, claim } = item.ctx;
      if (attempt && claim) {
        await inTransaction(this.ds, (m) =>
          this.jobs.recordHeldAttempt(
            m,
            { loadId: item.loadId, token: claim.token, requestId: item.ctx.requestId ?? null },
            claim.owner,
            attempt,
          ),
        );
      }
      return new Map([[item, { ok: true, value: 'already' as const }]]);
    }
  }

  private async writeSettlements(m: EntityManager, items: SettleItem[]): Promise<Map<SettleItem, Outcome<SettleResult>>> {
    const results = new Map<SettleItem, Outcome<SettleResult>>();
    // The turn on the accounts and one moment for every row this settlement writes (docs/time.md), taken before
    // any row lock (a transaction id taken while waiting for that turn would hold readers back), then the jobs and
    // the loads locked: one call (settlement_lock).
    const { jobs, loads: locked } = await this.jobs.lockForSettlement(
      m,
      items.map((i) => i.loadId),
    );
    const todo: SettleItem[] = [];
    const attempted: SettleItem[] = [];
    for (const item of items) {
      const load = locked.find((l) => l.id === item.loadId);
      const refusal = load
        ? this.refusal(item, load, jobs.get(item.loadId))
        : { ok: false as const, error: notFound(`card load ${item.loadId}`) };
      if (refusal) {
        results.set(item, refusal);
        continue;
      }
      // An attempt of a claim that still holds its job is recorded, settled now or already.
      if (item.ctx.attempt) attempted.push(item);
      const twin = todo.find((t) => t.loadId === item.loadId);
      if (item.ctx.operator && twin && twin.to !== item.to) {
        // Two operators, opposite outcomes, one batch: the first wins; the second is told, as in separate batches.
        results.set(item, { ok: false, error: invalidState(`card load ${item.loadId} is being resolved ${twin.to} by another request`) });
      } else if (load!.status === 'posted' || load!.status === 'reversed' || twin) {
        results.set(item, { ok: true, value: 'already' });
      } else todo.push(item);
    }
    const attempts = attempted.map((i) => ({ loadId: i.loadId, requestId: i.ctx.requestId ?? null, attempt: i.ctx.attempt! }));
    if (todo.length === 0) {
      if (attempts.length) await this.jobs.recordAttempts(m, attempts);
      return results;
    }
    const journalOf = (i: SettleItem) => locked.find((l) => l.id === i.loadId)!.journal_transaction_id;
    // The attempts, phase two of the pending transfers, the new statuses with their events and the end of the
    // outbox jobs, with the journal's sealing-queue rows and their content hashes: one call (card_loads_settle).
    await this.ledger.resolvePendingMany(
      m,
      todo.map((i) => ({
        pendingId: journalOf(i),
        kind: i.to === 'posted' ? ('post_pending' as const) : ('void_pending' as const),
        event: i.to === 'posted' ? ('load_posted' as const) : ('load_reversed' as const),
        loadId: i.loadId,
      })),
      (resolutions) =>
        this.jobs.settle(
          m,
          attempts,
          resolutions,
          todo.map((i) => ({ status: i.to, reason: i.ctx.reason, actor: i.ctx.actor, requestId: i.ctx.requestId ?? null })),
        ),
    );
    await this.webhooks.enqueue(
      m,
      todo.map((i) => ({ loadId: i.loadId, event: i.to === 'posted' ? 'card_load.posted' : 'card_load.reversed' })),
    );
    // Last, after every row lock of this transaction (the audit chain's head is locked until commit).
    for (const i of todo) {
      if (i.ctx.audit) {
        await this.trail.record(m, {
          ...i.ctx.audit,
          action: 'card_load.resolved',
          subject: i.loadId,
          details: { outcome: i.to, reason: i.ctx.reason },
        });
      }
    }
    for (const i of todo) results.set(i, { ok: true, value: 'settled' });
    return results;
  }

  /**
   * Who may settle, decided under the job's and the load's row locks: the worker only while its own claim holds
   * the job; an operator only on a load in review whose job is parked, and (to reverse) only once no earlier send
   * can still land at EnKash.
   */
  private refusal(
    item: SettleItem,
    load: LoadLock,
    job: ({ token: string | null; owner: string | null } & JobHold) | undefined,
  ): Outcome<SettleResult> | null {
    const { claim, operator } = item.ctx;
    if (claim && (!job || job.token !== claim.token || job.owner !== claim.owner)) return { ok: true, value: 'fenced' };
    // EnKash answered success to a send of this load after the worker gave up on it: nobody reverses it.
    if (claim && item.to === 'reversed' && job?.lateSuccess) return { ok: true, value: 'applied' };
    if (!operator) return null;
    if (load.status !== 'needs_review') {
      return { ok: false, error: invalidState(`card load ${item.loadId} is ${load.status}; only a load in needs_review can be resolved`) };
    }
    if (job && !job.parked) {
      return {
        ok: false,
        error: loadInFlight(
          `card load ${item.loadId} has an EnKash exchange in flight or scheduled; ` +
            'it can be resolved once its job is parked in review again (a requeue ends there or settles the load)',
          job.busyForMs / 1000,
        ),
      };
    }
    if (job?.lateSuccess && item.to === 'reversed') {
      return {
        ok: false,
        error: invalidState(
          `card load ${item.loadId} was applied at EnKash: EnKash answered success to a send of it ` +
            'after the worker had given up on it (see its events); it can only be resolved posted',
        ),
      };
    }
    if (job && item.to === 'reversed' && job.sendMayLandForMs > 0) {
      return {
        ok: false,
        error: loadInFlight(
          `card load ${item.loadId} may still be applied by a send already on its way to EnKash; ` +
            `it can be reversed in ${Math.ceil(job.sendMayLandForMs / 1000)} s`,
          job.sendMayLandForMs / 1000,
        ),
      };
    }
    return null;
  }

  /**
   * Out of budget with the outcome still unknown: visible in the review queue, job parked. Only while the
   * worker's claim holds the job: false = fenced out, nothing written.
   */
  async markNeedsReview(
    job: ClaimedJob,
    owner: string,
    reason: string,
    attempt: AttemptRecord | null,
    lookupGraceMs: number | null,
  ): Promise<boolean> {
    const done = await inTransaction(this.ds, async (m) => {
      if (!(await this.jobs.park(m, job, owner, attempt?.outcome ?? null, lookupGraceMs))) return false;
      if (attempt) await this.jobs.recordAttempts(m, [{ loadId: job.loadId, requestId: job.requestId, attempt }]);
      const load = await this.lock(m, job.loadId);
      if (load.status === 'pending') {
        await this.loads.markNeedsReview(m, job.loadId, reason);
        await this.event(m, job.loadId, 'needs_review', 'needs_review', reason, 'sync-worker', job.requestId);
        await this.webhooks.enqueue(m, [{ loadId: job.loadId, event: 'card_load.needs_review' }]);
        return 'moved' as const;
      }
      return true;
    });
    if (done === 'moved') this.metrics.settlements.inc({ status: 'needs_review' });
    return done !== false;
  }

  /** Another lookup (then a send only if EnKash shows nothing): only for a load in review whose job is parked. */
  async requeue(id: string, actor: AuditActor): Promise<void> {
    const loadId = id.toLowerCase();
    await inTransaction(this.ds, async (m) => {
      const job = (await this.jobs.lockJobs(m, [loadId])).get(loadId);
      const load = await this.lock(m, loadId);
      if (load.status !== 'needs_review')
        throw invalidState(`card load ${loadId} is ${load.status}; only a load in needs_review can be re-queued`);
      if (job && !job.parked) {
        throw loadInFlight(
          `card load ${loadId} is already queued or its EnKash exchange is in flight; requeue it again once it is parked`,
          job.busyForMs / 1000,
        );
      }
      if (job) await this.jobs.requeue(m, loadId);
      // A review load without a job (never made by this service; a hand-repaired database): look it up.
      else await this.jobs.enqueueLookup(m, loadId);
      await this.event(m, loadId, 'requeued', 'needs_review', 'queued for another lookup', actor.actor, actor.requestId);
      await this.trail.record(m, { ...actor, action: 'card_load.requeued', subject: loadId, details: {} });
    });
  }

  /** Undo of a posted load: an opposite posted transfer linked to the original, which is never touched. */
  async undo(loadId: string, reason: string, actor: AuditActor): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const load = await this.lock(m, loadId);
      if (load.status !== 'posted') throw invalidState(`card load ${loadId} is ${load.status}; only a posted load can be undone`);
      if (load.undone_at) throw invalidState(`card load ${loadId} is already undone`);
      const post = await this.ledger.postOf(m, load.journal_transaction_id);
      await this.ledger.undoPosted(m, post.id, 'load_undone', loadId, `undo of card load ${loadId}: ${reason}`);
      await this.loads.markUndone(m, loadId, reason);
      await this.event(m, loadId, 'undone', 'posted', reason, actor.actor, actor.requestId);
      await this.trail.record(m, {
        ...actor,
        action: 'card_load.undone',
        subject: loadId,
        details: { reason, undoTransactionOf: post.id },
      });
    });
  }

  private async lock(m: EntityManager, loadId: string): Promise<LoadLock> {
    const load = await this.loads.lock(m, loadId);
    if (load === null) throw notFound(`card load ${loadId}`);
    return load;
  }

  private async event(
    m: EntityManager,
    loadId: string,
    type: string,
    outcome: string,
    message: string,
    actor: string,
    requestId: string | null,
  ) {
    await this.loads.recordEvent(m, { loadId, type, outcome, message, actor, requestId });
  }
}
