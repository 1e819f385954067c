import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { invalidState, notFound } from '../common/errors';
import { inTransaction } from '../database/transaction';
import { AlreadyResolvedError } from '../ledger/ledger.errors';
import { LedgerService } from '../ledger/ledger.service';
import { MetricsService } from '../metrics/metrics.service';
import { AttemptRecord, ClaimedJob, SyncJobsStore } from './sync-jobs.store';

export type FinalStatus = 'posted' | 'reversed';

export interface SettleContext {
  reason: string;
  actor: string;
  attempt?: AttemptRecord;
  requestId?: string | null;
  /** Operator resolution: allowed only from needs_review. */
  requireReview?: boolean;
}

type LoadLock = { status: string; journal_transaction_id: string; undone_at: Date | null };

/**
 * Moves a load out of pending (or needs_review) exactly once: the load row is locked, the ledger resolves
 * the pending transfer (a unique resolving row backs the status check), and the outbox job goes away,
 * all in one transaction. Used by the worker and by operators.
 */
@Injectable()
export class SettlementService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly ledger: LedgerService,
    private readonly jobs: SyncJobsStore,
    private readonly metrics: MetricsService,
  ) {}

  async settle(loadId: string, to: FinalStatus, ctx: SettleContext): Promise<'settled' | 'already'> {
    const result = await inTransaction(this.ds, async (m) => {
      if (ctx.attempt) await this.jobs.recordAttempt(m, { loadId, requestId: ctx.requestId ?? null }, ctx.attempt);
      const load = await this.lock(m, loadId);
      if (ctx.requireReview && load.status !== 'needs_review') throw invalidState(`card load ${loadId} is ${load.status}; only a load in needs_review can be resolved`);
      if (load.status === 'posted' || load.status === 'reversed') return 'already' as const;
      try {
        if (to === 'posted') await this.ledger.postPending(m, load.journal_transaction_id, 'load_posted', loadId);
        else await this.ledger.voidPending(m, load.journal_transaction_id, 'load_reversed', loadId);
      } catch (e) {
        if (e instanceof AlreadyResolvedError) return 'already' as const;
        throw e;
      }
      // The new status, its event and the end of the outbox job, in one statement.
      await m.query(
        `WITH ev AS (INSERT INTO load_events (load_id, type, outcome, message, actor, request_id) VALUES ($1, 'settled', $2, $3, $4, $5)),
              job AS (DELETE FROM sync_jobs WHERE load_id = $1)
         UPDATE card_loads SET status = $2, status_reason = $3, updated_at = clock_timestamp(),
           posted_at = CASE WHEN $2 = 'posted' THEN clock_timestamp() END,
           reversed_at = CASE WHEN $2 = 'reversed' THEN clock_timestamp() END
         WHERE id = $1`, [loadId, to, ctx.reason.slice(0, 1000), ctx.actor, ctx.requestId ?? null]);
      return 'settled' as const;
    });
    if (result === 'settled') this.metrics.settlements.inc({ status: to });
    return result;
  }

  /** Out of budget with the outcome still unknown: visible in the review queue, job parked. */
  async markNeedsReview(job: ClaimedJob, reason: string, attempt: AttemptRecord | null): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      if (attempt) await this.jobs.recordAttempt(m, job, attempt);
      const load = await this.lock(m, job.loadId);
      if (load.status === 'pending') {
        await m.query(`UPDATE card_loads SET status = 'needs_review', status_reason = $2, updated_at = clock_timestamp() WHERE id = $1`,
          [job.loadId, reason]);
        await this.event(m, job.loadId, 'needs_review', 'needs_review', reason, 'sync-worker', job.requestId);
        this.metrics.settlements.inc({ status: 'needs_review' });
      }
      await this.jobs.park(m, job.loadId);
    });
  }

  async requeue(loadId: string, actor: string): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const load = await this.lock(m, loadId);
      if (load.status !== 'needs_review') throw invalidState(`card load ${loadId} is ${load.status}; only a load in needs_review can be re-queued`);
      await this.jobs.requeue(m, loadId);
      await this.event(m, loadId, 'requeued', 'needs_review', 'queued for another lookup', actor, null);
    });
  }

  /** Undo of a posted load: an opposite posted transfer linked to the original, which is never touched. */
  async undo(loadId: string, reason: string, actor: string): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      const load = await this.lock(m, loadId);
      if (load.status !== 'posted') throw invalidState(`card load ${loadId} is ${load.status}; only a posted load can be undone`);
      if (load.undone_at) throw invalidState(`card load ${loadId} is already undone`);
      const [post] = await m.query(`SELECT id FROM journal_transactions WHERE pending_id = $1 AND kind = 'post_pending'`, [load.journal_transaction_id]);
      await this.ledger.undoPosted(m, post.id, 'load_undone', loadId, `undo of card load ${loadId}: ${reason}`);
      await m.query(`UPDATE card_loads SET undone_at = clock_timestamp(), status_reason = $2, updated_at = clock_timestamp() WHERE id = $1`,
        [loadId, `undone: ${reason}`.slice(0, 1000)]);
      await this.event(m, loadId, 'undone', 'posted', reason, actor, null);
    });
  }

  private async lock(m: EntityManager, loadId: string): Promise<LoadLock> {
    const rows: LoadLock[] = await m.query(`SELECT status, journal_transaction_id, undone_at FROM card_loads WHERE id = $1 FOR UPDATE`, [loadId]);
    if (rows.length === 0) throw notFound(`card load ${loadId}`);
    return rows[0];
  }

  private async event(m: EntityManager, loadId: string, type: string, outcome: string, message: string, actor: string, requestId: string | null) {
    await m.query(`INSERT INTO load_events (load_id, type, outcome, message, actor, request_id) VALUES ($1, $2, $3, $4, $5, $6)`,
      [loadId, type, outcome, message.slice(0, 1000), actor, requestId]);
  }
}
