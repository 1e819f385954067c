import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { invalidState, notFound } from '../common/errors';
import { GroupCommit, Outcome } from '../common/group-commit';
import { inTransaction } from '../database/transaction';
import { AlreadyResolvedError } from '../ledger/ledger.errors';
import { LedgerService } from '../ledger/ledger.service';
import { MetricsService } from '../metrics/metrics.service';
import { AttemptRecord, ClaimedJob, SyncJobsStore } from './sync-jobs.store';
import { WebhookOutbox } from '../webhooks/webhook-outbox';

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
type SettleItem = { loadId: string; to: FinalStatus; ctx: SettleContext };

/** Upper bound on loads settled in one transaction. */
export const SETTLE_BATCH_MAX = 200;

/**
 * Moves a load out of pending (or needs_review) exactly once: the load row is locked, the ledger resolves
 * the pending transfer (a unique resolving row backs the status check), and the outbox job goes away,
 * all in one transaction, shared by every settlement that arrives meanwhile (the parent account is hot).
 * Used by the worker and by operators.
 */
@Injectable()
export class SettlementService {
  private readonly group = new GroupCommit<SettleItem, 'settled' | 'already'>('settlement', (batch) => this.settleBatch(batch), SETTLE_BATCH_MAX);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly ledger: LedgerService,
    private readonly jobs: SyncJobsStore,
    private readonly metrics: MetricsService,
    // Stateless (it writes with the caller's transaction), so contexts that list providers by hand (the CLI) get one too.
    @Optional() private readonly webhooks: WebhookOutbox = new WebhookOutbox(),
  ) {}

  /** Settles one load; concurrent calls share one transaction (group commit), each with its own answer. */
  async settle(loadId: string, to: FinalStatus, ctx: SettleContext): Promise<'settled' | 'already'> {
    const result = await this.group.submit({ loadId, to, ctx });
    if (result === 'settled') this.metrics.settlements.inc({ status: to });
    return result;
  }

  private async settleBatch(items: SettleItem[]): Promise<Map<SettleItem, Outcome<'settled' | 'already'>>> {
    try {
      return await inTransaction(this.ds, (m) => this.writeSettlements(m, items));
    } catch (e) {
      // Someone resolved the transfer between our status check and our write (the unique resolving row said
      // so). Alone, that simply means "already settled"; in a batch, GroupCommit retries each item alone.
      if (!(e instanceof AlreadyResolvedError) || items.length > 1) throw e;
      const [item] = items;
      if (item.ctx.attempt) await inTransaction(this.ds, (m) => this.jobs.recordAttempt(m, { loadId: item.loadId, requestId: item.ctx.requestId ?? null }, item.ctx.attempt!));
      return new Map([[item, { ok: true, value: 'already' as const }]]);
    }
  }

  private async writeSettlements(m: EntityManager, items: SettleItem[]): Promise<Map<SettleItem, Outcome<'settled' | 'already'>>> {
    const results = new Map<SettleItem, Outcome<'settled' | 'already'>>();
    // One moment for every row this settlement writes, read after its accounts are locked (docs/time.md).
    await this.ledger.beginMomentForLoads(m, [...new Set(items.map((i) => i.loadId))]);
    const attempts = items.filter((i) => i.ctx.attempt).map((i) => ({ loadId: i.loadId, requestId: i.ctx.requestId ?? null, attempt: i.ctx.attempt! }));
    if (attempts.length) await this.jobs.recordAttempts(m, attempts);
    const locked: Array<LoadLock & { id: string }> = await m.query(
      `SELECT l.id, l.status, l.journal_transaction_id, l.undone_at
       FROM (SELECT DISTINCT unnest($1::uuid[]) AS id ORDER BY 1) q
       CROSS JOIN LATERAL (SELECT * FROM card_loads WHERE id = q.id FOR UPDATE) l`,
      [[...new Set(items.map((i) => i.loadId))]]);
    const todo: SettleItem[] = [];
    for (const item of items) {
      const load = locked.find((l) => l.id === item.loadId);
      if (!load) results.set(item, { ok: false, error: notFound(`card load ${item.loadId}`) });
      else if (item.ctx.requireReview && load.status !== 'needs_review') {
        results.set(item, { ok: false, error: invalidState(`card load ${item.loadId} is ${load.status}; only a load in needs_review can be resolved`) });
      } else if (load.status === 'posted' || load.status === 'reversed' || todo.some((t) => t.loadId === item.loadId)) {
        results.set(item, { ok: true, value: 'already' });
      } else todo.push(item);
    }
    if (todo.length === 0) return results;
    const journalOf = (i: SettleItem) => locked.find((l) => l.id === i.loadId)!.journal_transaction_id;
    await this.ledger.resolvePendingMany(m, todo.map((i) => ({
      pendingId: journalOf(i), kind: i.to === 'posted' ? 'post_pending' as const : 'void_pending' as const,
      event: i.to === 'posted' ? 'load_posted' as const : 'load_reversed' as const, loadId: i.loadId,
    })));
    // The new statuses, their events and the end of the outbox jobs, in one statement.
    await m.query(
      `WITH x AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) AS x(id, status, reason, actor, request_id)),
            ev AS (INSERT INTO load_events (load_id, type, outcome, message, actor, request_id)
                   SELECT id, 'settled', status, reason, actor, request_id FROM x),
            job AS (DELETE FROM sync_jobs WHERE load_id IN (SELECT id FROM x))
       UPDATE card_loads l SET status = x.status, status_reason = x.reason, updated_at = ledger_moment(),
         posted_at = CASE WHEN x.status = 'posted' THEN ledger_moment() END,
         reversed_at = CASE WHEN x.status = 'reversed' THEN ledger_moment() END
       FROM x WHERE l.id = x.id`,
      [todo.map((i) => i.loadId), todo.map((i) => i.to), todo.map((i) => i.ctx.reason.slice(0, 1000)), todo.map((i) => i.ctx.actor),
        todo.map((i) => i.ctx.requestId ?? null)]);
    await this.webhooks.enqueue(m, todo.map((i) => ({ loadId: i.loadId, event: i.to === 'posted' ? 'card_load.posted' : 'card_load.reversed' })));
    for (const i of todo) results.set(i, { ok: true, value: 'settled' });
    return results;
  }

  /** Out of budget with the outcome still unknown: visible in the review queue, job parked. */
  async markNeedsReview(job: ClaimedJob, reason: string, attempt: AttemptRecord | null): Promise<void> {
    await inTransaction(this.ds, async (m) => {
      if (attempt) await this.jobs.recordAttempt(m, job, attempt);
      const load = await this.lock(m, job.loadId);
      if (load.status === 'pending') {
        await m.query(`UPDATE card_loads SET status = 'needs_review', status_reason = $2, updated_at = ledger_moment() WHERE id = $1`,
          [job.loadId, reason]);
        await this.event(m, job.loadId, 'needs_review', 'needs_review', reason, 'sync-worker', job.requestId);
        await this.webhooks.enqueue(m, [{ loadId: job.loadId, event: 'card_load.needs_review' }]);
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
      await m.query(`UPDATE card_loads SET undone_at = ledger_moment(), status_reason = $2, updated_at = ledger_moment() WHERE id = $1`,
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
