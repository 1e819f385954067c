import { Inject, Injectable, Logger } from '@nestjs/common';
import { BrokenCircuitError, circuitBreaker, CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, handleWhenResult } from 'cockatiel';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DatabaseIdentityService } from '../database/database-identity.service';
import { OutageLog } from '../database/outage-log';
import { inTransaction } from '../database/transaction';
import { EnKashClient, LateEnKashAnswer } from '../enkash/enkash.client';
import { EnKashOutcome, ExchangeDeadline } from '../enkash/enkash.types';
import { WorkerHeartbeat } from '../health/worker-heartbeat';
import { MetricsService } from '../metrics/metrics.service';
import { SettlementService, SettleResult } from './settlement.service';
import { attemptOf, backoffMs, Decision, decideAfterLookup, decideAfterSend } from './sync.decisions';
import { GroupCommit, Outcome } from '../common/group-commit';
import { AttemptRecord, ClaimedJob, HeldAttempt, SyncJobsStore } from './sync-jobs.store';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often a worker says it is alive and compares the database's identity with the ledger's record. */
const IDENTITY_CHECK_MS = 10_000;
/** A load whose send is held (a fork awaiting adoption) is looked up again no sooner than this. */
const HELD_SEND_RETRY_MS = 60_000;
/** Upper bound on lookups recorded in one transaction before their sends. */
const HELD_ATTEMPTS_MAX = 200;
/**
 * Jobs started and not finished (in an exchange, or answered and settling) per EnKash slot (SYNC_CONCURRENCY), beyond
 * the slot itself: with 1, a worker whose settlements stall stops starting jobs at 2 × SYNC_CONCURRENCY of them.
 */
const SETTLING_PER_SLOT = 1;

/**
 * Pushes pending loads to EnKash and settles them. Any number of instances may run: jobs are claimed with
 * SKIP LOCKED under a lease in DB time, and no DB transaction is ever open while EnKash is called.
 */
@Injectable()
export class SyncWorker {
  private readonly logger = new Logger(SyncWorker.name);
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private running = false;
  private loop: Promise<void> | null = null;
  /** Every job started and not finished: its EnKash exchange, then the settlement or reschedule that follows it. */
  private readonly inflight = new Set<Promise<void>>();
  /**
   * Jobs started whose EnKash exchanges are not over yet: what SYNC_CONCURRENCY bounds. A job whose answer is in
   * leaves it before its settlement, which waits for a shared transaction (group commit): the next send need not.
   */
  private exchanging = 0;
  /** Wakes the loop when a job's exchanges are over (a slot is free) or a job finishes. */
  private slotFreed: () => void = () => undefined;
  private readonly backlog: ClaimedJob[] = [];
  private readonly breaker: CircuitBreakerPolicy;
  private openedAtMs = 0;
  /** Monotonic time of the last identity check; null until the first one succeeded (the start's), and after an outage. */
  private identityCheckedAtMono: number | null = null;
  private started = false;
  private listening = false;
  private readonly claims = new OutageLog(this.logger, 'claiming loads');
  /**
   * A lookup that found nothing is recorded before its send, only while the claim still holds the job: the lookups
   * answered while one such record is being written go together in the next (group commit), one transaction for all.
   */
  private readonly heldAttempts = new GroupCommit<HeldAttempt, boolean>(
    'held-attempts',
    (batch) => this.writeHeldAttempts(batch),
    HELD_ATTEMPTS_MAX,
  );

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly client: EnKashClient,
    private readonly jobs: SyncJobsStore,
    private readonly settlement: SettlementService,
    private readonly metrics: MetricsService,
    private readonly heartbeat: WorkerHeartbeat,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly identity: DatabaseIdentityService,
  ) {
    const s = config.sync;
    // Unknown outcomes and systemic failures both pause sending: EnKash is down or we are misconfigured.
    this.breaker = circuitBreaker(
      handleWhenResult((r) => {
        const kind = (r as EnKashOutcome<unknown>).kind;
        return kind === 'systemic' || kind === 'unknown';
      }),
      { halfOpenAfter: s.circuitOpenMs, breaker: new ConsecutiveBreaker(s.circuitFailureThreshold) },
    );
    this.breaker.onStateChange((state) => {
      this.metrics.circuitState.set(state === CircuitState.Closed ? 0 : state === CircuitState.HalfOpen ? 1 : 2);
      if (state === CircuitState.Open) {
        this.openedAtMs = performance.now();
        this.logger.warn('EnKash circuit open: sending paused');
      }
      if (state === CircuitState.Closed) this.logger.log('EnKash circuit closed: sending resumed');
    });
  }

  /** Started and stopped by the worker composition (worker/worker.module.ts), before the pool and the client close. */
  start(): void {
    if (this.running) return;
    if (!this.listening) this.client.onLateAnswer((a) => void this.lateAnswer(a));
    this.listening = true;
    this.running = true;
    this.heartbeat.enable(Math.max(30_000, this.config.sync.pollMs * 20));
    this.loop = this.run();
  }

  /** Stop claiming, let in-flight loads finish (each bounded by the EnKash timeout); leases cover the rest. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise((r) => (timer = setTimeout(r, this.config.sync.exchangeDeadlineMs + 1000)));
    await Promise.race([Promise.allSettled([...this.inflight]), bound]);
    clearTimeout(timer); // nothing of the worker outlives its shutdown (a test run or a rolling restart waits on it)
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  /**
   * Keeps up to `concurrency` loads in an EnKash exchange, with up to as many claimed ahead in `backlog`, so that a
   * freed slot starts its next load at once instead of waiting for a claim round trip. A load whose answer is in
   * frees its slot while it settles; at most 2 × `concurrency` jobs are started and not finished (SETTLING_PER_SLOT),
   * so claims held by this worker stay bounded (3 × concurrency with the backlog). docs/design.md, "The worker's slots".
   */
  private async run(): Promise<void> {
    const { concurrency, pollMs } = this.config.sync;
    while (this.running) {
      this.heartbeat.beat();
      await this.watchIdentity();
      // stop() may have come during that await: start nothing more (the backlog goes back below).
      if (!this.running) break;
      // cockatiel moves an open circuit to half-open only when a call is tried, so once the pause is over one
      // job goes out as the probe; until then nothing starts.
      const paused = this.breaker.state !== CircuitState.Closed;
      const probeDue = paused && this.inflight.size === 0 && performance.now() - this.openedAtMs >= this.config.sync.circuitOpenMs;
      const room = () => Math.min(concurrency - this.exchanging, (1 + SETTLING_PER_SLOT) * concurrency - this.inflight.size);
      const slots = paused ? (probeDue ? 1 : 0) : room();
      for (let i = 0; i < slots && this.backlog.length > 0; i++) this.startJob(this.backlog.shift()!);
      // Claimed ahead: what room is left, and `concurrency` more.
      const want = paused ? (probeDue && this.inflight.size === 0 ? 1 : 0) : room() + concurrency - this.backlog.length;
      if (want >= Math.max(1, Math.floor(concurrency / 4)) || (want > 0 && this.inflight.size === 0 && this.backlog.length === 0)) {
        try {
          const s = this.config.sync;
          const jobs = await this.jobs.claim(this.owner, want, s.leaseMs, s.lookupGraceMs, s.rejectionConfirmMs);
          this.backlog.push(...jobs);
          if (this.claims.failing) {
            // Back after an outage: the database may be another one now (a failover promoted a replica).
            this.claims.recovered();
            this.identityCheckedAtMono = null;
          }
        } catch (e) {
          // The database is restarting or unreachable: the pool reconnects; nothing was claimed.
          this.claims.failed(e, 'retrying every second');
          await sleep(Math.min(1000, pollMs * 5));
          continue;
        }
      }
      // Loads in hand and a slot free (one freed while the claim ran, too): start them now, not after a poll.
      if (!paused && room() > 0 && this.backlog.length > 0) continue;
      if (this.inflight.size === 0 && this.backlog.length === 0) await sleep(pollMs);
      else await Promise.race([new Promise<void>((r) => (this.slotFreed = r)), sleep(pollMs)]);
    }
    // Give back what was claimed but never started, so another instance can take it at once.
    for (const job of this.backlog.splice(0)) await this.jobs.release(job, this.owner).catch(() => undefined);
  }

  /**
   * At the start, after a reconnect and every IDENTITY_CHECK_MS: say this worker is alive, and compare the database's
   * identity with the ledger's record (a fork makes every open load lookup-first). The fence before each send checks
   * it too, so this only makes the handling early; a failure here is retried at the next turn.
   */
  private async watchIdentity(): Promise<void> {
    const last = this.identityCheckedAtMono;
    if (last !== null && performance.now() - last < IDENTITY_CHECK_MS) return;
    try {
      await this.identity.check(last === null ? (this.started ? 'reconnect' : 'start') : 'periodic');
      this.started = true;
      await this.identity.keepAlive();
      this.identityCheckedAtMono = performance.now();
    } catch (e) {
      this.logger.warn(`database identity check failed, retrying: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private startJob(job: ClaimedJob): void {
    this.exchanging++;
    let over = false;
    const exchangesOver = () => {
      if (over) return;
      over = true;
      this.exchanging--;
      this.slotFreed();
    };
    const p: Promise<void> = this.process(job, exchangesOver)
      .catch((e: unknown) => this.logger.error(`load ${job.loadId}: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        exchangesOver();
        this.inflight.delete(p);
        this.slotFreed();
      });
    this.inflight.add(p);
  }

  /**
   * One EnKash exchange for a claimed job: the fence first (never skipped), then the call under a deadline that
   * ends before the lease can (config guarantees lease > exchange deadline + margin). 'fenced' = the claim was
   * lost and nothing was sent; null = nothing was sent (circuit open, or the deadline came first); 'forked' / 'held'
   * = a send refused because the database is a fork of the ledger's (not handled yet / held for an operator).
   */
  private async exchange<T>(
    job: ClaimedJob,
    name: 'send' | 'lookup',
    fn: (x: ExchangeDeadline) => Promise<EnKashOutcome<T>>,
  ): Promise<EnKashOutcome<T> | null | 'fenced' | 'late-success' | 'held' | 'forked'> {
    const s = this.config.sync;
    // An open circuit refuses the call anyway (until its pause is over and a probe may go): give the job back
    // before the fence would push its lookup out.
    if (this.breaker.state === CircuitState.Open && performance.now() - this.openedAtMs < s.circuitOpenMs) return null;
    const fence = await this.jobs.fence(job, this.owner, s.leaseMs, name === 'send' ? { lookupGraceMs: s.lookupGraceMs } : null);
    if (fence.gate !== 'open') {
      // The database is a fork of the ledger, or this claim was taken before the last fork was handled: handle the
      // fork now if nobody has (every open load becomes lookup-first, this one included), and call nothing. The job
      // goes back; its next claim looks it up first, after the fork's moment.
      if (fence.gate === 'held') return 'held';
      await this.identity.check('fence');
      return 'forked';
    }
    if (!fence.held) {
      this.fenced(job, `the ${name}`);
      return 'fenced';
    }
    // A late success answer arrived since the claim: the load is applied, and a send would apply it again.
    if (name === 'send' && job.lateSuccess) return 'late-success';
    const deadlineMono = job.leaseFromMono + s.exchangeDeadlineMs;
    return this.call(name, () => fn({ deadlineMono }));
  }

  /** Calls EnKash through the breaker; null when nothing was sent (the circuit refused the call, or the deadline came first). */
  private async call<T>(name: 'send' | 'lookup', fn: () => Promise<EnKashOutcome<T>>): Promise<EnKashOutcome<T> | null> {
    try {
      const started = performance.now();
      const o = await this.breaker.execute(fn);
      if (o.kind === 'not_sent') return null;
      this.metrics.enkashLatency.observe({ call: name }, (performance.now() - started) / 1000);
      this.metrics.syncAttempts.inc({ call: name, outcome: o.kind });
      if (o.kind === 'systemic') this.metrics.systemicFailures.inc();
      return o;
    } catch (e) {
      if (e instanceof BrokenCircuitError) return null;
      throw e;
    }
  }

  /** A write of a claim that lost its job changed nothing; say so (another claim or an operator has the load now). */
  private fenced(job: ClaimedJob, what: string): void {
    this.metrics.fencedWrites.inc();
    this.logger.warn(`load ${job.loadId} ref=${job.reference}: claim ${job.token} no longer holds the job; ${what} was not done`);
  }

  /**
   * EnKash's answer to a send we had given up on: recorded in the load's events, measured (how late EnKash can act,
   * which SYNC_LOOKUP_GRACE_MS must cover), and a success kept as proof so the load is never sent again.
   */
  private async lateAnswer(a: LateEnKashAnswer): Promise<void> {
    const graceMs = this.config.sync.lookupGraceMs;
    this.metrics.lateAnswers.observe(a.latenessMs / 1000);
    if (a.latenessMs > graceMs / 2) {
      this.logger.warn(
        `EnKash answered a load ${a.latenessMs} ms after we gave up on it; SYNC_LOOKUP_GRACE_MS (${graceMs}) must exceed ` +
          "the latest such answer plus EnKash's visibility lag: raise it",
      );
    }
    if (a.reference === null) return;
    const succeeded = a.outcome.kind === 'succeeded';
    await this.jobs
      .recordLateAnswer(a.reference, { ...attemptOf('enkash_send', a.outcome), durationMs: a.latenessMs }, succeeded)
      .catch((e: unknown) =>
        this.logger.error(`late answer for ref=${a.reference} not recorded: ${e instanceof Error ? e.message : String(e)}`),
      );
  }

  /** `exchangesOver`: called once no EnKash call of this job is left, before what it writes after the answer. */
  async process(job: ClaimedJob, exchangesOver: () => void): Promise<void> {
    if (job.lateSuccess) return this.postLateSuccess(job);
    let firstSend = !job.wasNeedsLookup && !job.unknownSeen;
    if (job.wasNeedsLookup) {
      if (!job.lookupReady) return this.jobs.release(job, this.owner, job.lookupAfterMs);
      const lookup = await this.exchange(job, 'lookup', (x) =>
        this.client.findLoadByReference(
          job.reference,
          { enKashCardId: job.enKashCardId, companyId: job.companyId, cardAccountId: job.cardAccountId },
          x,
        ),
      );
      // A lookup's fence never answers late-success or held (only a send's checks the gate). 'forked': this claim was
      // taken before the last fork was handled; given back, the next claim looks up after the fork's moment.
      if (lookup === 'fenced' || lookup === 'late-success' || lookup === 'held') return;
      if (lookup === 'forked') return this.jobs.release(job, this.owner);
      if (lookup === null) return this.jobs.release(job, this.owner, this.config.sync.circuitOpenMs);
      const attempt = attemptOf('enkash_lookup', lookup);
      const decision = decideAfterLookup(job, lookup);
      if (decision.action !== 'send') {
        exchangesOver();
        return this.apply(job, decision, attempt);
      }
      if (!(await this.heldAttempts.submit({ job, owner: this.owner, attempt }))) {
        return this.fenced(job, 'the lookup record (and the send after it)');
      }
      firstSend = false;
    }
    // Shutting down: start no new exchange (the job goes back; a lookup comes first next time anyway).
    if (!this.running) return this.jobs.release(job, this.owner);
    const sent = await this.exchange(job, 'send', (x) =>
      this.client.loadCard(
        {
          reference: job.reference,
          enKashCardId: job.enKashCardId,
          amountMinor: job.amountMinor,
          companyId: job.companyId,
          cardAccountId: job.cardAccountId,
          description: job.description,
          remarks: job.remarks,
        },
        x,
      ),
    );
    exchangesOver();
    if (sent === 'fenced') return;
    if (sent === 'late-success') return this.postLateSuccess(job);
    if (sent === 'held') return this.jobs.release(job, this.owner, HELD_SEND_RETRY_MS);
    if (sent === 'forked') return this.jobs.release(job, this.owner); // now lookup-first, and not before its lookup_after
    if (sent === null) return this.jobs.release(job, this.owner, this.config.sync.circuitOpenMs);
    return this.apply(job, decideAfterSend(job, sent, firstSend), attemptOf('enkash_send', sent));
  }

  private async writeHeldAttempts(batch: HeldAttempt[]): Promise<Map<HeldAttempt, Outcome<boolean>>> {
    const held = await inTransaction(this.ds, (m) => this.jobs.recordHeldAttempts(m, batch));
    return new Map(batch.map((h, i) => [h, { ok: true, value: held[i] }]));
  }

  private postLateSuccess(job: ClaimedJob): Promise<void> {
    return this.apply(job, { action: 'post', reason: 'EnKash answered success to an earlier send after we had given up on it' }, null);
  }

  private async apply(job: ClaimedJob, d: Decision, attempt: AttemptRecord | null): Promise<void> {
    const ctx = {
      actor: 'sync-worker',
      attempt: attempt ?? undefined,
      requestId: job.requestId,
      claim: { token: job.token, owner: this.owner },
    };
    if (d.action === 'post' || d.action === 'reverse') {
      const to = d.action === 'post' ? 'posted' : 'reversed';
      // EnKash's own success answer proves the load applied: if it cannot be settled now, keep the proof on the job
      // so that no later claim sends the load again, whatever its lookup shows yet.
      const provenBySend = attempt?.type === 'enkash_send' && attempt.outcome === 'succeeded';
      let result: SettleResult;
      try {
        result = await this.settlement.settle(job.loadId, to, { ...ctx, reason: d.reason });
      } catch (e) {
        if (provenBySend) await this.jobs.recordSuccessEvidence(job.loadId);
        throw e;
      }
      if (result === 'fenced') {
        this.fenced(job, `settling it ${to}`);
        if (provenBySend) await this.jobs.recordSuccessEvidence(job.loadId);
      }
      if (result === 'applied') return this.postLateSuccess(job);
      return;
    }
    if (d.action === 'send') throw new Error('unreachable: send is handled by process()');
    const s = this.config.sync;
    if ((!d.waiting && job.attempts + 1 >= s.maxAttempts) || job.budgetAgeMs >= s.maxAgeMs) {
      const reason = `retry budget exhausted after ${job.attempts + 1} attempts; last: ${d.reason}`;
      const grace = d.afterLookupGrace ? s.lookupGraceMs : null;
      if (!(await this.settlement.markNeedsReview(job, this.owner, reason, attempt, grace))) this.fenced(job, 'moving it to review');
      return;
    }
    const delay = backoffMs(job.attempts, s.backoffBaseMs, s.backoffCapMs);
    const kept = await inTransaction(this.ds, (m) =>
      this.jobs.reschedule(
        m,
        job,
        this.owner,
        {
          delayMs: d.afterLookupGrace ? Math.max(delay, s.lookupGraceMs) : delay,
          needsLookup: d.needsLookup,
          lookupGraceMs: d.afterLookupGrace ? s.lookupGraceMs : null,
          unknownSeen: d.unknownSeen,
          pendingRejection: d.pendingRejection,
          countAttempt: !d.waiting,
        },
        attempt,
      ),
    );
    if (!kept) this.fenced(job, 'rescheduling it');
  }
}
