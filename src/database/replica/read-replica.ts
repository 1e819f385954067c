import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client, ClientConfig, DatabaseError, Pool, PoolClient } from 'pg';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { MetricsService } from '../../metrics/metrics.service';
import { FallbackReason, lsnValue, ReadPlan } from './read-plan';

/** After the replica could not be reached, requests go straight to the primary this long (no connect wait each). */
const UNREACHABLE_PAUSE_MS = 1000;
/** A replica that stops answering (a hung host) costs a read this long, then the primary serves it. */
const REPLICA_QUERY_TIMEOUT_MS = 10_000;
/** How often a read waiting for the replica's replay asks again. */
const REPLAY_POLL_MS = 10;

/** SQLSTATE classes of a replica that cannot serve now (not of a bad query, which the primary would refuse too). */
const REPLICA_TROUBLE = /^(08|57P0|53|58)/;
/** "canceling statement due to conflict with recovery": the replica's replay needed the rows this query held. */
const RECOVERY_CONFLICT = '40001';

/** The replica's side of one read, in one round trip before it on the same session (docs/time.md, "Replicas"). */
const REPLICA_CHECK_SQL = `SELECT pg_is_in_recovery() AS in_recovery,
  coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS replayed,
  (SELECT received_tli FROM pg_stat_wal_receiver) AS timeline,
  CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE floor(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 END AS lag_ms`;

interface ReplicaCheck {
  in_recovery: boolean;
  replayed: boolean;
  timeline: number | null;
  lag_ms: number | null;
}

export type ReplicaStatus =
  { state: 'not configured' } | { state: 'ok' | 'lagging'; lagMs: number | null } | { state: 'unreachable' | 'not in recovery' };

/** As data-source.ts's PooledClient: a connection the server ends must not crash the process. */
class ReplicaClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/** host:port/database of a URL, never its password (docs/operations.md: URLs are never printed whole). */
export const describeUrl = (url: string): string => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
};

/**
 * The read replica (DATABASE_READ_URL) and the rule for serving from it (docs/time.md, "Replicas"): before every query
 * on a replica session, the same session is asked whether it is still a replica, on the primary's timeline, replayed
 * past what the answer claims final, and not further behind than DATABASE_READ_MAX_LAG_MS. Anything else moves the
 * request to the primary (its plan says why), never a 500. Checking on the query's own session matters behind a
 * load balancer (HAProxy's read-only port): two sessions may reach two replicas at different points.
 */
@Injectable()
export class ReadReplica implements OnApplicationShutdown {
  private readonly logger = new Logger(ReadReplica.name);
  private readonly pool: Pool | null;
  private readonly maxLagMs: number;
  private readonly waitMs: number;
  private unreachableUntil = 0;
  private readonly lag;
  private readonly fallbacks;
  private readonly reads;

  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: MetricsService) {
    const { url, maxLagMs } = config.readReplica;
    this.maxLagMs = maxLagMs;
    this.waitMs = config.audit.finalWaitMs;
    this.pool = url
      ? new Pool({
          connectionString: url,
          max: 10,
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

  /** The plan an auditor read starts with: the replica when one is configured and not known to be unreachable. */
  plan(): ReadPlan {
    const plan: ReadPlan = { source: this.pool ? 'replica' : 'primary', fallback: null, required: null, deadline: 0, lagMs: null };
    if (this.pool && performance.now() < this.unreachableUntil) this.fallBack(plan, 'replica-unreachable');
    return plan;
  }

  /** Counted once per answer, when its headers are written. */
  served(plan: ReadPlan): void {
    this.reads.inc({ source: plan.source });
  }

  /** The rows of `sql` from the replica under the plan's rule, or null when the plan has just moved to the primary. */
  async query(plan: ReadPlan, sql: string, args: unknown[] | undefined): Promise<unknown[] | null> {
    let client: PoolClient;
    try {
      client = await this.pool!.connect();
    } catch {
      this.unreachableUntil = performance.now() + UNREACHABLE_PAUSE_MS;
      return this.fallBack(plan, 'replica-unreachable');
    }
    let broken: Error | undefined;
    try {
      const refused = await this.admit(client, plan);
      // A session on a promoted server, or on another timeline, stays so: drop it, so that the next one is made through
      // DATABASE_READ_URL again (behind HAProxy's read port: to a server that is a replica now).
      if (refused === 'replica-not-in-recovery' || refused === 'replica-timeline') broken = new Error(refused);
      if (refused) return this.fallBack(plan, refused);
      const { rows } = await client.query<Record<string, unknown>>(sql, args);
      return rows;
    } catch (e) {
      // The server refused the query itself (bad input the primary would refuse as well): the caller's error.
      if (e instanceof DatabaseError && !REPLICA_TROUBLE.test(e.code ?? '') && e.code !== RECOVERY_CONFLICT) throw e;
      broken = e as Error;
      if (e instanceof DatabaseError && e.code === RECOVERY_CONFLICT) return this.fallBack(plan, 'replica-cancelled');
      // Anything else is the replica's trouble (a reset, a timeout, a shutdown): the primary serves.
      this.unreachableUntil = performance.now() + UNREACHABLE_PAUSE_MS;
      return this.fallBack(plan, 'replica-unreachable');
    } finally {
      client.release(broken);
    }
  }

  /**
   * Null when this session may serve the plan's read now, else why not. A read that claims a final cut waits (until
   * the plan's deadline) for the replay of its sample's LSN; one that does not is served as far as the replica has
   * replayed, within the lag bound, and says so in its headers.
   */
  private async admit(client: PoolClient, plan: ReadPlan): Promise<FallbackReason | null> {
    for (;;) {
      const required = plan.required;
      const {
        rows: [c],
      } = await client.query<ReplicaCheck>(REPLICA_CHECK_SQL, [required?.lsn ?? '0/0']);
      plan.lagMs = c.lag_ms === null ? null : Math.max(0, c.lag_ms);
      if (plan.lagMs !== null) this.lag.set(plan.lagMs / 1000);
      // A server that left recovery was promoted, or is some other primary: it is not the copy this rule is about.
      if (!c.in_recovery) return 'replica-not-in-recovery';
      // An LSN means something only on its own timeline: after a failover a replica still streaming the old one (or
      // one whose timeline cannot be read) may hold commits the new primary never got.
      if (required && c.timeline !== required.timeline) return 'replica-timeline';
      const lagging = plan.lagMs !== null && plan.lagMs > this.maxLagMs;
      if (c.replayed) return required || !lagging ? null : 'replica-lagging';
      if (lagging) return 'replica-lagging';
      if (performance.now() >= plan.deadline) return 'replay-wait-expired';
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

  /** What /health/ready says about the replica; never fails readiness (the primary serves every read). */
  async status(): Promise<ReplicaStatus> {
    if (!this.pool) return { state: 'not configured' };
    const client = await this.pool.connect().catch(() => null);
    if (!client) return { state: 'unreachable' };
    let broken: Error | undefined;
    try {
      const plan: ReadPlan = { source: 'replica', fallback: null, required: null, deadline: 0, lagMs: null };
      const refused = await this.admit(client, plan);
      if (refused === 'replica-not-in-recovery') return { state: 'not in recovery' };
      return { state: refused === 'replica-lagging' ? 'lagging' : 'ok', lagMs: plan.lagMs };
    } catch (e) {
      broken = e as Error;
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
