import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { BrokenCircuitError, circuitBreaker, CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, handleWhenResult } from 'cockatiel';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { EnKashClient } from '../enkash/enkash.client';
import { EnKashOutcome } from '../enkash/enkash.types';
import { WorkerHeartbeat } from '../health/worker-heartbeat';
import { MetricsService } from '../metrics/metrics.service';
import { SettlementService } from './settlement.service';
import { attemptOf, backoffMs, Decision, decideAfterLookup, decideAfterSend } from './sync.decisions';
import { AttemptRecord, ClaimedJob, SyncJobsStore } from './sync-jobs.store';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Pushes pending loads to EnKash and settles them. Any number of instances may run: jobs are claimed with
 * SKIP LOCKED under a lease in DB time, and no DB transaction is ever open while EnKash is called.
 */
@Injectable()
export class SyncWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SyncWorker.name);
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private readonly backlog: ClaimedJob[] = [];
  private readonly breaker: CircuitBreakerPolicy;
  private readonly leaseMs: number;
  private openedAtMs = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly client: EnKashClient,
    private readonly jobs: SyncJobsStore,
    private readonly settlement: SettlementService,
    private readonly metrics: MetricsService,
    private readonly heartbeat: WorkerHeartbeat,
    @InjectDataSource() private readonly ds: DataSource,
  ) {
    const s = config.sync;
    // A lease must outlive a lookup plus a send, or another instance could send the same load meanwhile.
    this.leaseMs = Math.max(s.leaseMs, 2 * config.enkash.timeoutMs + 2000);
    // Unknown outcomes and systemic failures both pause sending: EnKash is down or we are misconfigured.
    this.breaker = circuitBreaker(handleWhenResult((r) => {
      const kind = (r as EnKashOutcome<unknown>).kind;
      return kind === 'systemic' || kind === 'unknown';
    }), { halfOpenAfter: s.circuitOpenMs, breaker: new ConsecutiveBreaker(s.circuitFailureThreshold) });
    this.breaker.onStateChange((state) => {
      this.metrics.circuitState.set(state === CircuitState.Closed ? 0 : state === CircuitState.HalfOpen ? 1 : 2);
      if (state === CircuitState.Open) {
        this.openedAtMs = performance.now();
        this.logger.warn('EnKash circuit open: sending paused');
      }
      if (state === CircuitState.Closed) this.logger.log('EnKash circuit closed: sending resumed');
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.role !== 'api') this.start();
  }

  /** Before Nest closes the database pool and the EnKash client: drain with both still open. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.heartbeat.enable(Math.max(30_000, this.config.sync.pollMs * 20));
    this.loop = this.run();
  }

  /** Stop claiming, let in-flight loads finish (each bounded by the EnKash timeout); leases cover the rest. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise((r) => (timer = setTimeout(r, 2 * this.config.enkash.timeoutMs + 1000)));
    await Promise.race([Promise.allSettled([...this.inflight]), bound]);
    clearTimeout(timer); // nothing of the worker outlives its shutdown (a test run or a rolling restart waits on it)
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  /**
   * Keeps up to `concurrency` loads in flight, with up to as many claimed ahead in `backlog`, so that a
   * freed slot starts its next load at once instead of waiting for a claim round trip.
   */
  private async run(): Promise<void> {
    const { concurrency, pollMs } = this.config.sync;
    while (this.running) {
      this.heartbeat.beat();
      // cockatiel moves an open circuit to half-open only when a call is tried, so once the pause is over one
      // job goes out as the probe; until then nothing starts.
      const paused = this.breaker.state !== CircuitState.Closed;
      const probeDue = paused && this.inflight.size === 0 && performance.now() - this.openedAtMs >= this.config.sync.circuitOpenMs;
      const slots = paused ? (probeDue ? 1 : 0) : concurrency - this.inflight.size;
      for (let i = 0; i < slots && this.backlog.length > 0; i++) this.startJob(this.backlog.shift()!);
      const want = paused ? (probeDue && this.inflight.size === 0 ? 1 : 0) : 2 * concurrency - this.inflight.size - this.backlog.length;
      let claimed = 0;
      if (want >= Math.max(1, Math.floor(concurrency / 4)) || (want > 0 && this.inflight.size === 0 && this.backlog.length === 0)) {
        try {
          const jobs = await this.jobs.claim(this.owner, want, this.leaseMs, this.config.sync.lookupGraceMs, this.config.sync.rejectionConfirmMs);
          claimed = jobs.length;
          this.backlog.push(...jobs);
        } catch (e) {
          // The database is restarting or unreachable: the pool reconnects; nothing was claimed.
          this.logger.warn(`claim failed, retrying: ${e instanceof Error ? e.message : String(e)}`);
          await sleep(Math.min(1000, pollMs * 5));
          continue;
        }
      }
      if (claimed > 0 && this.inflight.size < concurrency && !paused) continue;
      if (this.inflight.size === 0 && this.backlog.length === 0) await sleep(pollMs);
      else await Promise.race([...this.inflight, sleep(pollMs)]);
    }
    // Give back what was claimed but never started, so another instance can take it at once.
    for (const job of this.backlog.splice(0)) await this.jobs.release(job.loadId, this.owner).catch(() => undefined);
  }

  private startJob(job: ClaimedJob): void {
    const p: Promise<void> = this.process(job)
      .catch((e: unknown) => this.logger.error(`load ${job.loadId}: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Calls EnKash through the breaker; null when the circuit refused the call (nothing was sent). */
  private async call<T>(name: 'send' | 'lookup', fn: () => Promise<EnKashOutcome<T>>): Promise<EnKashOutcome<T> | null> {
    try {
      const started = performance.now();
      const o = await this.breaker.execute(fn);
      this.metrics.enkashLatency.observe({ call: name }, (performance.now() - started) / 1000);
      this.metrics.syncAttempts.inc({ call: name, outcome: o.kind });
      if (o.kind === 'systemic') this.metrics.systemicFailures.inc();
      return o;
    } catch (e) {
      if (e instanceof BrokenCircuitError) return null;
      throw e;
    }
  }

  private leaseLeftMs(job: ClaimedJob): number {
    return this.leaseMs - (performance.now() - job.claimedAtMono);
  }

  /**
   * Before each EnKash call: a job claimed moments ago is fenced by its claim; one that waited (in the
   * backlog, behind a lookup, or in a stalled process) renews its lease first, and gives up if it lost it.
   */
  private async stillOurs(job: ClaimedJob, callsLeft: number): Promise<boolean> {
    if (performance.now() - job.claimedAtMono < Math.min(1000, this.leaseMs / 10)) return true;
    if (!(await this.jobs.renewLease(job.loadId, this.owner, this.leaseMs, this.config.sync.lookupGraceMs))) return false;
    job.claimedAtMono = performance.now();
    return this.leaseLeftMs(job) >= callsLeft * this.config.enkash.timeoutMs + 1000;
  }

  async process(job: ClaimedJob): Promise<void> {
    if (!(await this.stillOurs(job, job.wasNeedsLookup ? 2 : 1))) return;
    let firstSend = !job.wasNeedsLookup && !job.unknownSeen;
    if (job.wasNeedsLookup) {
      if (!job.lookupReady) return this.jobs.release(job.loadId, this.owner, job.lookupAfterMs);
      const lookup = await this.call('lookup', () => this.client.findLoadByReference(job.reference,
        { enKashCardId: job.enKashCardId, companyId: job.companyId, cardAccountId: job.cardAccountId }));
      if (lookup === null) return this.jobs.release(job.loadId, this.owner, this.config.sync.circuitOpenMs);
      const attempt = attemptOf('enkash_lookup', lookup);
      const decision = decideAfterLookup(job, lookup);
      if (decision.action !== 'send') return this.apply(job, decision, attempt);
      await inTransaction(this.ds, (m) => this.jobs.recordAttempt(m, job, attempt));
      firstSend = false;
    }
    // Never start a send that could outlive our lease: another instance might take the job over mid-call.
    if (!(await this.stillOurs(job, 1))) return;
    const sent = await this.call('send', () => this.client.loadCard({
      reference: job.reference, enKashCardId: job.enKashCardId, amountMinor: job.amountMinor, companyId: job.companyId,
      cardAccountId: job.cardAccountId, description: job.description, remarks: job.remarks,
    }));
    if (sent === null) return this.jobs.release(job.loadId, this.owner, this.config.sync.circuitOpenMs);
    return this.apply(job, decideAfterSend(job, sent, firstSend), attemptOf('enkash_send', sent));
  }

  private async apply(job: ClaimedJob, d: Decision, attempt: AttemptRecord): Promise<void> {
    const ctx = { actor: 'sync-worker', attempt, requestId: job.requestId };
    if (d.action === 'post') {
      await this.settlement.settle(job.loadId, 'posted', { ...ctx, reason: d.reason });
      return;
    }
    if (d.action === 'reverse') {
      await this.settlement.settle(job.loadId, 'reversed', { ...ctx, reason: d.reason });
      return;
    }
    if (d.action === 'send') throw new Error('unreachable: send is handled by process()');
    const s = this.config.sync;
    if ((!d.waiting && job.attempts + 1 >= s.maxAttempts) || job.budgetAgeMs >= s.maxAgeMs) {
      await this.settlement.markNeedsReview(job, `retry budget exhausted after ${job.attempts + 1} attempts; last: ${d.reason}`, attempt);
      return;
    }
    const delay = backoffMs(job.attempts, s.backoffBaseMs, s.backoffCapMs);
    await inTransaction(this.ds, (m) => this.jobs.reschedule(m, job, this.owner, {
      delayMs: d.afterLookupGrace ? Math.max(delay, s.lookupGraceMs) : delay,
      needsLookup: d.needsLookup,
      lookupGraceMs: d.afterLookupGrace ? s.lookupGraceMs : null,
      unknownSeen: d.unknownSeen,
      pendingRejection: d.pendingRejection,
      countAttempt: !d.waiting,
    }, attempt));
  }
}
