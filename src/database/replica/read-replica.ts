import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client, ClientConfig, DatabaseError, Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { MetricsService } from '../../metrics/metrics.service';
import { describeUrl } from '../connection-url';
import { POOL_KEEPING } from '../data-source';
import { PRIMARY_TIMELINE_SQL } from '../identity-sql';
import { FallbackReason, lsnValue, PrimaryPoint, ReadPlan } from './read-plan';

/** After the replica could not be reached, requests go straight to the primary this long (no connect wait each). */
const UNREACHABLE_PAUSE_MS = 1000;
/** A replica that stops answering (a hung host) costs a read this long, then the primary serves it. */
const REPLICA_QUERY_TIMEOUT_MS = 10_000;
/** How often a read waiting for the replica's replay asks again. */
const REPLAY_POLL_MS = 10;
/** /health/ready says "unreachable" when the replica has not answered its probe by then (a kubelet waits 1 s). */
const STATUS_TIMEOUT_MS = 300;
/** How long the readiness probe waits for the replica to replay the primary's position before it says "lagging". */
const STATUS_REPLAY_WAIT_MS = 200;

/** SQLSTATE classes of a replica that cannot serve now (not of a bad query, which the primary would refuse too). */
const REPLICA_TROUBLE = /^(08|57P0|53|58)/;
/**
 * Cancelled on the replica: 40001 "conflict with recovery" (replay needed the rows this query held) or 57014, the
 * replica's own statement_timeout. The primary serves the read.
 */
const REPLICA_CANCELLED = new Set(['40001', '57014']);

/** Where the primary stands, read on the primary once per request (docs/time.md, "Replicas"). */
export const PRIMARY_POINT_SQL = `SELECT pg_current_wal_insert_lsn()::text AS lsn, ${PRIMARY_TIMELINE_SQL} AS timeline,
  (SELECT system_identifier::text FROM pg_control_system()) AS system_id`;

/** Once per replica session: its cluster, and whether its role may read pg_stat_wal_receiver's details. */
const SESSION_SQL = `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system_id,
  pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees_stats`;

/**
 * The replica's side of one read, in one round trip before it on the same session: $1 the cut's LSN, $2 the primary's
 * position. Streaming: a WAL receiver is running (its status needs pg_read_all_stats; without it, its pid shows).
 * The timeline: the receiver's, else (no details, or no receiver) the last restartpoint's. replay_age_ms: since the
 * last replayed commit was written, an upper bound of how far behind the replica is (every commit it lacks came after).
 */
const REPLICA_CHECK_SQL = `SELECT pg_is_in_recovery() AS in_recovery,
  coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS replayed,
  coalesce(pg_last_wal_replay_lsn() >= $2::pg_lsn, false) AS current,
  EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE coalesce(status = 'streaming', pid IS NOT NULL)) AS streaming,
  coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint())) AS timeline,
  floor(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS replay_age_ms`;

interface ReplicaCheck {
  in_recovery: boolean;
  replayed: boolean;
  current: boolean;
  streaming: boolean;
  timeline: number | null;
  replay_age_ms: number | null;
}

export type ReplicaStatus =
  | { state: 'not configured' }
  | { state: 'ok' | 'lagging'; lagMs: number | null }
  | { state: 'unreachable' | 'not in recovery' | 'diverged' };

/** As data-source.ts's PooledClient: a connection the server ends must not crash the process. */
class ReplicaClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/**
 * The read replica (DATABASE_READ_URL) and the rule for serving from it (docs/time.md, "Replicas"): before every query
 * on a replica session, the same session is asked whether it is still a replica of the primary's cluster and timeline
 * (the cluster once per session), replayed past what the answer claims final, and not further behind the primary than
 * DATABASE_READ_MAX_LAG_MS, measured against where the primary's WAL stood when the request first asked. Anything else
 * moves the request to the primary (its plan says why), never a 500. Checking on the query's own session matters
 * behind a load balancer (HAProxy's read-only port): two sessions may reach two replicas at different points.
 */
@Injectable()
export class ReadReplica implements OnApplicationShutdown {
  private readonly logger = new Logger(ReadReplica.name);
  private readonly pool: Pool | null;
  private readonly maxLagMs: number;
  private readonly waitMs: number;
  private unreachableUntil = 0;
  /** Per replica session: its cluster's system identifier (asked once; a session never changes cluster). */
  private readonly sessions = new WeakMap<PoolClient, string>();
  private warnedStats = false;
  private probe: Promise<ReplicaStatus> | null = null;
  private readonly lag;
  private readonly fallbacks;
  private readonly reads;
  /** Each request's question to the primary while it is being answered (firstPrimaryPoint). */
  private readonly primaryAsked = new WeakMap<ReadPlan, Promise<PrimaryPoint>>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    metrics: MetricsService,
    @InjectDataSource() private readonly ds: DataSource,
  ) {
    const { url, maxLagMs } = config.readReplica;
    this.maxLagMs = maxLagMs;
    this.waitMs = config.audit.finalWaitMs;
    this.pool = url
      ? new Pool({
          connectionString: url,
          max: 10,
          ...POOL_KEEPING,
          connectionTimeoutMillis: 2000,
          query_timeout: REPLICA_QUERY_TIMEOUT_MS,
          application_name: 'card-ledger-reads',
          Client: ReplicaClient,
        })
      : null;
    this.pool?.on('error', () => undefined);
    if (url) this.logger.log(`auditor reads may use the replica at ${describeUrl(url)}`);
    this.lag = metrics.gauge('card_ledger_replica_lag_seconds', 'Replay lag of the read replica as last seen by a read or a probe');
    this.fallbacks = metrics.counter(
      'card_ledger_replica_fallbacks_total',
      'Auditor reads served by the primary although a replica is configured, by reason',
      'reason',
    );
    this.reads = metrics.counter('card_ledger_replica_reads_total', 'Auditor reads, by the database that served them', 'source');
  }

  get configured(): boolean {
    return this.pool !== null;
  }

  /**
   * The plan an auditor read starts with: the replica when one is configured and not known to be unreachable.
   * `boundLag` false only for routes whose rows never change once final (AuditorRead's immutableRows).
   */
  plan(boundLag = true): ReadPlan {
    const plan = this.newPlan(this.pool ? 'replica' : 'primary', boundLag);
    if (this.pool && performance.now() < this.unreachableUntil) this.fallBack(plan, 'replica-unreachable');
    return plan;
  }

  private newPlan(source: ReadPlan['source'], boundLag: boolean): ReadPlan {
    return { source, boundLag, primary: null, fallback: null, required: null, deadline: 0, lagMs: null };
  }

  /** Counted once per answer, when its headers are written. */
  served(plan: ReadPlan): void {
    this.reads.inc({ source: plan.source });
  }

  /** The rows of `sql` from the replica under the plan's rule, or null when the plan has just moved to the primary. */
  async query(plan: ReadPlan, sql: string, args: unknown[] | undefined): Promise<unknown[] | null> {
    // Where the primary stands, before the replica is asked: its lag is measured against this (an unreachable primary
    // fails the read there, as it would without a replica).
    plan.primary ??= await this.firstPrimaryPoint(plan);
    let client: PoolClient;
    try {
      client = await this.pool!.connect();
    } catch {
      this.unreachableUntil = performance.now() + UNREACHABLE_PAUSE_MS;
      return this.fallBack(plan, 'replica-unreachable');
    }
    let broken: Error | undefined;
    try {
      const refused = await this.admit(client, plan, plan.primary, plan.primary.at + this.maxLagMs);
      // A session on a promoted server, another timeline or another cluster stays so: drop it, so that the next one is
      // made through DATABASE_READ_URL again (behind HAProxy's read port: to a server that is a replica now).
      if (refused === 'replica-not-in-recovery' || refused === 'replica-timeline' || refused === 'replica-identity') {
        broken = new Error(refused);
      }
      if (refused) return this.fallBack(plan, refused);
      const { rows } = await client.query<Record<string, unknown>>(sql, args);
      return rows;
    } catch (e) {
      const code = e instanceof DatabaseError ? (e.code ?? '') : null;
      // The server refused the query itself (bad input the primary would refuse as well): the caller's error.
      if (code !== null && !REPLICA_TROUBLE.test(code) && !REPLICA_CANCELLED.has(code)) throw e;
      broken = e as Error;
      if (code !== null && REPLICA_CANCELLED.has(code)) return this.fallBack(plan, 'replica-cancelled');
      // Anything else is the replica's trouble (a reset, a timeout, a shutdown): the primary serves.
      this.unreachableUntil = performance.now() + UNREACHABLE_PAUSE_MS;
      return this.fallBack(plan, 'replica-unreachable');
    } finally {
      client.release(broken);
    }
  }

  /**
   * The primary's point for a request's first replica query: one question also when its queries start at once (a trial
   * balance's page and the parts of its totals), not one each, the last answer overwriting the others.
   */
  private firstPrimaryPoint(plan: ReadPlan): Promise<PrimaryPoint> {
    let asked = this.primaryAsked.get(plan);
    if (!asked) {
      asked = this.primaryPoint();
      this.primaryAsked.set(plan, asked);
      // A failed question is not remembered: a later query of the request asks again, as it did before.
      asked.catch(() => this.primaryAsked.delete(plan));
    }
    return asked;
  }

  private async primaryPoint(): Promise<PrimaryPoint> {
    const at = performance.now();
    const [r]: Array<{ lsn: string; timeline: number; system_id: string }> = await this.ds.query(PRIMARY_POINT_SQL);
    return { lsn: r.lsn, timeline: r.timeline, systemId: r.system_id, at };
  }

  /** The replica session's cluster, asked once per session; warns once when its role cannot see the WAL receiver. */
  private async sessionSystemId(client: PoolClient): Promise<string> {
    const known = this.sessions.get(client);
    if (known !== undefined) return known;
    const {
      rows: [r],
    } = await client.query<{ system_id: string; sees_stats: boolean }>(SESSION_SQL);
    if (!r.sees_stats && !this.warnedStats) {
      this.warnedStats = true;
      this.logger.warn(
        "the replica's role lacks pg_read_all_stats: its timeline is read from its last restartpoint, which trails a " +
          'failover (reads fall back until it catches up); GRANT pg_read_all_stats to it (docs/operations.md, "Read replicas")',
      );
    }
    this.sessions.set(client, r.system_id);
    return r.system_id;
  }

  /**
   * Null when this session may serve the plan's read now, else why not (docs/time.md, "Replicas"). The replica must be
   * one of the primary's cluster and timeline. Its lag is within the bound when it has replayed where the primary stood
   * (then it is at most the time since behind), or, while streaming, when its last replayed commit is younger than the
   * bound; a replica not streaming counts as lagging. Otherwise the read waits for replay, at most until `lagUntil`
   * (the primary's point plus the bound). A read that claims a final cut also waits (until the plan's deadline) for
   * its sample's LSN; a route of immutable rows (plan.boundLag false) needs only that.
   */
  private async admit(client: PoolClient, plan: ReadPlan, primary: PrimaryPoint, lagUntil: number): Promise<FallbackReason | null> {
    if ((await this.sessionSystemId(client)) !== primary.systemId) return 'replica-identity';
    for (;;) {
      const required = plan.required;
      const {
        rows: [c],
      } = await client.query<ReplicaCheck>(REPLICA_CHECK_SQL, [required?.lsn ?? '0/0', primary.lsn]);
      const now = performance.now();
      plan.lagMs = c.current ? Math.round(now - primary.at) : c.streaming && c.replay_age_ms !== null ? Math.max(0, c.replay_age_ms) : null;
      if (plan.lagMs !== null) this.lag.set(plan.lagMs / 1000);
      // A server that left recovery was promoted, or is some other primary: it is not the copy this rule is about.
      if (!c.in_recovery) return 'replica-not-in-recovery';
      // An LSN means something only on its own timeline: a replica on another one (a standby of a server promoted
      // apart, or one not yet past a failover) may hold commits the primary never got, reads with a cut or without.
      if (c.timeline !== primary.timeline || (required && required.timeline !== primary.timeline)) return 'replica-timeline';
      const withinBound = c.current || (c.streaming && plan.lagMs !== null && plan.lagMs <= this.maxLagMs);
      if (required && c.replayed && (withinBound || !plan.boundLag)) return null;
      if (!required && withinBound) return null;
      // Not streaming, nothing more arrives; streaming, the bound is given until `lagUntil` to be met (immutable rows with
      // a cut wait for its replay alone, below).
      if (!withinBound && (!c.streaming || (now >= lagUntil && (plan.boundLag || !required)))) return 'replica-lagging';
      if (required && now >= plan.deadline) return 'replay-wait-expired';
      await new Promise((r) => setTimeout(r, REPLAY_POLL_MS));
    }
  }

  private fallBack(plan: ReadPlan, reason: FallbackReason): null {
    if (plan.source === 'replica') {
      plan.source = 'primary';
      plan.fallback = reason;
      this.fallbacks.inc({ reason });
    }
    return null;
  }

  /**
   * What /health/ready says about the replica; never fails readiness (the primary serves every read), and never waits
   * on a hung replica: one probe runs at a time, and an answer not there within STATUS_TIMEOUT_MS reads "unreachable"
   * (the probe goes on in the background; the unreachable pause skips probing altogether).
   */
  async status(): Promise<ReplicaStatus> {
    if (!this.pool) return { state: 'not configured' };
    if (performance.now() < this.unreachableUntil) return { state: 'unreachable' };
    this.probe ??= this.runProbe().finally(() => (this.probe = null));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<ReplicaStatus>((r) => (timer = setTimeout(() => r({ state: 'unreachable' }), STATUS_TIMEOUT_MS)));
    try {
      return await Promise.race([this.probe, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async runProbe(): Promise<ReplicaStatus> {
    const primary = await this.primaryPoint().catch(() => null);
    const client = await this.pool!.connect().catch(() => null);
    if (!client) {
      this.unreachableUntil = performance.now() + UNREACHABLE_PAUSE_MS;
      return { state: 'unreachable' };
    }
    let broken: Error | undefined;
    try {
      // Without the primary there is nothing to measure the replica against.
      if (!primary) return { state: 'unreachable' };
      const plan = this.newPlan('replica', true);
      const refused = await this.admit(client, plan, primary, performance.now() + STATUS_REPLAY_WAIT_MS);
      if (refused === 'replica-not-in-recovery') return { state: 'not in recovery' };
      if (refused === 'replica-timeline' || refused === 'replica-identity') return { state: 'diverged' };
      return { state: refused === 'replica-lagging' ? 'lagging' : 'ok', lagMs: plan.lagMs };
    } catch (e) {
      broken = e as Error;
      this.unreachableUntil = performance.now() + UNREACHABLE_PAUSE_MS;
      return { state: 'unreachable' };
    } finally {
      client.release(broken);
    }
  }

  /** The budget a final read waits for replay: the same LEDGER_FINAL_WAIT_MS as the wait for the watermark. */
  deadlineFromNow(): number {
    return performance.now() + this.waitMs;
  }

  /** Whether `a` is later in the WAL than `b`. */
  static after(a: string, b: string): boolean {
    return lsnValue(a) > lsnValue(b);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }
}
