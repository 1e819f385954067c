import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditActor, serviceActor } from '../audit-trail/audit-trail';
import { AuditTrail } from '../audit-trail/audit-trail.service';
import { invalidState } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { SyncJobsStore } from '../sync/sync-jobs.store';
import { DatabaseIdentityStore, ForkKind, LiveIdentityRow as LiveRow } from './database-identity.store';
import { SendGate } from './identity-sql';
import { inTransaction } from './transaction';

export interface DatabaseIdentity {
  systemIdentifier: string;
  databaseOid: string;
  timeline: number;
}

export interface IdentityStatus {
  recorded: DatabaseIdentity | null;
  live: DatabaseIdentity;
  gate: SendGate;
  sendsHeldSince: string | null;
  lastFork: { kind: ForkKind; detectedAt: string; previousIdentity: string | null } | null;
}

export interface ForkReport {
  kind: ForkKind;
  previous: string | null;
  current: string;
  openJobs: number;
  sendsHeld: boolean;
}

/** A start after this long without a live worker is treated like a copy: every open load is looked up first. */
export const SILENCE_MS = 5 * 60_000;

const identityOf = (r: LiveRow): DatabaseIdentity => ({
  systemIdentifier: r.system_identifier,
  databaseOid: String(r.database_oid),
  timeline: Number(r.timeline),
});
export const describeIdentity = (i: DatabaseIdentity): string =>
  `system ${i.systemIdentifier}, database oid ${i.databaseOid}, timeline ${i.timeline}`;

function kindOf(recorded: LiveRow | undefined, live: LiveRow): ForkKind | null {
  if (!recorded) return 'missing';
  if (recorded.system_identifier !== live.system_identifier) return 'cluster';
  if (String(recorded.database_oid) !== String(live.database_oid)) return 'database';
  if (Number(recorded.timeline) !== Number(live.timeline)) return 'timeline';
  return null;
}

/**
 * Fork safety (docs/design.md, "A database that is a copy"): the ledger records the identity of the database it runs
 * on; a worker that finds another one (at start, after a reconnect, every few seconds, and in the fence before every
 * send) treats every open load as possibly sent by the other copy, by one mark on the identity row that each job's
 * next claim reads (SyncJobsStore): lookup first, and not before any send the other copy may still have on the wire
 * could show at EnKash. Then, by DATABASE_FORK_POLICY, sends go on
 * or stay held (lookups go on) until an operator adopts the new identity.
 */
@Injectable()
export class DatabaseIdentityService {
  private readonly logger = new Logger(DatabaseIdentityService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly store: DatabaseIdentityStore,
    private readonly jobs: SyncJobsStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly trail: AuditTrail,
  ) {}

  async status(): Promise<IdentityStatus> {
    const [{ recorded: row, live }, gate] = await Promise.all([this.store.read(), this.store.sendGate()]);
    return {
      recorded: row ? identityOf(row) : null,
      live: identityOf(live),
      gate,
      sendsHeldSince: row?.sends_held_since?.toISOString() ?? null,
      lastFork: row?.fork_kind
        ? { kind: row.fork_kind, detectedAt: row.fork_detected_at!.toISOString(), previousIdentity: row.previous_identity }
        : null,
    };
  }

  /**
   * Compares the live identity with the recorded one and, on a fork, handles it (once: the first worker to see it
   * does the work under the identity row's lock, the others then find nothing). `start` also treats a long silence
   * as a fork. Returns what was handled, or null.
   */
  async check(trigger: 'start' | 'reconnect' | 'periodic' | 'fence'): Promise<ForkReport | null> {
    // The common case costs one read and no lock.
    const { recorded: row, live } = await this.store.read();
    if (kindOf(row, live) === null && !(trigger === 'start' && row!.silent_ms > SILENCE_MS)) return null;
    // Counted before the identity row's lock, which the fork's handling then holds for constant time: a count of
    // ten million jobs takes seconds (the jobs a moment later may differ by the few taken or settled meanwhile).
    const openJobs = await this.jobs.countOpen();
    const report = await inTransaction(this.ds, (m) => this.handle(m, trigger, serviceActor('sync-worker'), openJobs));
    if (report) this.announce(report, trigger);
    return report;
  }

  /** Workers say they are alive (database time), so that a start after a long silence can tell. */
  async keepAlive(): Promise<void> {
    await this.store.keepAlive();
  }

  /**
   * An operator confirms this database is the ledger now (the copy it came from is stopped, or was never pointed at
   * this EnKash): sends resume, and loads that waited are due at once (each still looked up first). Only a fork a
   * worker has handled can be adopted: until then its open loads are not all lookup-first yet.
   */
  async adopt(actor: AuditActor, reason: string): Promise<IdentityStatus> {
    await inTransaction(this.ds, async (m) => {
      const { recorded: row, live } = await this.store.lock(m);
      if (kindOf(row, live) !== null) {
        throw invalidState(
          'this database is a fork no worker has handled yet (its open loads are not all lookup-first): ' +
            'start a worker (ROLE=all or worker), wait for GET /v1/database/identity to say "held", then adopt',
        );
      }
      if (!row!.sends_held_since) throw invalidState('sends are not held: this database is the one the ledger recorded, nothing to adopt');
      await this.store.releaseSends(m);
      // Loads that waited for the adoption (their lookups found nothing) go now, after their lookup as always.
      const woken = await this.jobs.wakeWaiting(m);
      await this.trail.record(m, {
        ...actor,
        action: 'database.fork_adopted',
        subject: null,
        details: {
          reason,
          identity: describeIdentity(identityOf(live)),
          previousIdentity: row!.previous_identity,
          forkKind: row!.fork_kind,
          heldSince: row!.sends_held_since.toISOString(),
          loadsWoken: woken,
        },
      });
    });
    this.logger.warn(`database identity adopted by ${actor.actor}: sends resume (${reason})`);
    return this.status();
  }

  /**
   * Under the identity row's lock: compare again (another worker may have handled it meanwhile), then record the new
   * identity, the fork's mark that makes every open job lookup-first, and whether sends are held, and say so in the trail.
   */
  private async handle(m: EntityManager, trigger: string, actor: AuditActor, openJobs: number): Promise<ForkReport | null> {
    const { recorded: row, live } = await this.store.lock(m);
    const kind = kindOf(row, live) ?? (trigger === 'start' && row!.silent_ms > SILENCE_MS ? 'silence' : null);
    if (kind === null) return null;
    const policy = this.config.forkPolicy;
    const hold = kind !== 'silence' && (policy === 'hold-all' || (policy === 'hold' && kind !== 'timeline'));
    const s = this.config.sync;
    const previous = row ? describeIdentity(identityOf(row)) : null;
    const current = describeIdentity(identityOf(live));
    // Every open job becomes lookup-first by the fork's mark, read at its next claim: none is written here. A send the
    // other copy started before this moment may reach EnKash until its lease and the grace have passed.
    const lookupAfterMs = s.leaseMs + s.lookupGraceMs;
    await this.store.recordFork(m, live, { kind, hold, previous, rowExists: row !== undefined, lookupAfterMs });
    const report: ForkReport = { kind, previous, current, openJobs, sendsHeld: hold || row?.sends_held_since != null };
    await this.trail.record(m, {
      ...actor,
      action: 'database.fork_detected',
      subject: null,
      details: {
        kind,
        trigger,
        policy,
        previousIdentity: previous,
        identity: current,
        openJobsMadeLookupFirst: report.openJobs,
        sendsHeld: report.sendsHeld,
        ...(kind === 'silence' ? { silentSeconds: Math.round(row!.silent_ms / 1000) } : {}),
      },
    });
    return report;
  }

  private announce(r: ForkReport, trigger: string): void {
    this.metrics.databaseForks.inc({ kind: r.kind });
    const what =
      r.kind === 'silence'
        ? `no worker was alive on this database for more than ${SILENCE_MS / 60_000} min (it may be a copy)`
        : `this database is not the one the ledger last ran on (${r.kind}: was ${r.previous ?? 'unrecorded'}, now ${r.current})`;
    const then = r.sendsHeld
      ? 'Sends are HELD (lookups go on) until an operator confirms this is the ledger now: ' +
        '`npm run cli -- database adopt --reason "..."` or POST /v1/database/adopt (docs/operations.md, "Backup and restore").'
      : 'Sends go on after each lookup.';
    const log = r.kind === 'silence' ? this.logger.warn.bind(this.logger) : this.logger.error.bind(this.logger);
    log(`${what}, seen at ${trigger}: ${r.openJobs} open load(s) are looked up at EnKash before any send. ${then}`);
  }
}
