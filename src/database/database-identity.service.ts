import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditActor, serviceActor } from '../audit-trail/audit-trail';
import { AuditTrail } from '../audit-trail/audit-trail.service';
import { invalidState } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { LIVE_IDENTITY_SQL, SEND_GATE_SQL, SendGate } from './identity-sql';
import { inTransaction } from './transaction';

/**
 * cluster: another system identifier (a dump restored into another server, pg_upgrade). database: another database
 * OID in the same cluster (pg_restore into a new database, CREATE DATABASE ... TEMPLATE). timeline: a promoted
 * replica or a point-in-time restore. silence: the same identity, but no worker was alive for SILENCE_MS (what a
 * file-system snapshot or a base backup started as is looks like). missing: the identity row is gone.
 */
export type ForkKind = 'cluster' | 'database' | 'timeline' | 'silence' | 'missing';

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

type IdentityRow = {
  system_identifier: string;
  database_oid: string;
  timeline: number;
  alive_at: Date;
  sends_held_since: Date | null;
  fork_kind: ForkKind | null;
  fork_detected_at: Date | null;
  previous_identity: string | null;
  silent_ms: number;
};
type LiveRow = { system_identifier: string; database_oid: string; timeline: number };
const SILENT_MS_SQL = `(extract(epoch FROM clock_timestamp() - alive_at) * 1000)::float8 AS silent_ms`;

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
 * send) treats every open load as possibly sent by the other copy, in one statement: lookup first, and not before
 * any send the other copy may still have on the wire could show at EnKash. Then, by DATABASE_FORK_POLICY, sends go on
 * or stay held (lookups go on) until an operator adopts the new identity.
 */
@Injectable()
export class DatabaseIdentityService {
  private readonly logger = new Logger(DatabaseIdentityService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly trail: AuditTrail,
  ) {}

  async status(): Promise<IdentityStatus> {
    const [[row], [live], [{ gate }]]: [IdentityRow[], LiveRow[], Array<{ gate: SendGate }>] = await Promise.all([
      this.ds.query<IdentityRow[]>(`SELECT * FROM database_identity WHERE id = 1`),
      this.ds.query<LiveRow[]>(LIVE_IDENTITY_SQL),
      this.ds.query<Array<{ gate: SendGate }>>(`SELECT ${SEND_GATE_SQL} AS gate`),
    ]);
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
    const [[row], [live]]: [IdentityRow[], LiveRow[]] = await Promise.all([
      this.ds.query<IdentityRow[]>(`SELECT *, ${SILENT_MS_SQL} FROM database_identity WHERE id = 1`),
      this.ds.query<LiveRow[]>(LIVE_IDENTITY_SQL),
    ]);
    if (kindOf(row, live) === null && !(trigger === 'start' && row.silent_ms > SILENCE_MS)) return null;
    const report = await inTransaction(this.ds, (m) => this.handle(m, trigger, serviceActor('sync-worker')));
    if (report) this.announce(report, trigger);
    return report;
  }

  /** Workers say they are alive (database time), so that a start after a long silence can tell. */
  async keepAlive(): Promise<void> {
    await this.ds.query(`UPDATE database_identity SET alive_at = clock_timestamp() WHERE id = 1`);
  }

  /**
   * An operator confirms this database is the ledger now (the copy it came from is stopped, or was never pointed at
   * this EnKash): sends resume, and loads that waited are due at once (each still looked up first). Only a fork a
   * worker has handled can be adopted: until then its open loads are not all lookup-first yet.
   */
  async adopt(actor: AuditActor, reason: string): Promise<IdentityStatus> {
    await inTransaction(this.ds, async (m) => {
      const [row]: IdentityRow[] = await m.query(`SELECT * FROM database_identity WHERE id = 1 FOR UPDATE`);
      const [live]: LiveRow[] = await m.query(LIVE_IDENTITY_SQL);
      if (kindOf(row, live) !== null) {
        throw invalidState(
          'this database is a fork no worker has handled yet (its open loads are not all lookup-first): ' +
            'start a worker (ROLE=all or worker), wait for GET /v1/database/identity to say "held", then adopt',
        );
      }
      if (!row.sends_held_since) throw invalidState('sends are not held: this database is the one the ledger recorded, nothing to adopt');
      await m.query(`UPDATE database_identity SET sends_held_since = NULL WHERE id = 1`);
      // Loads that waited for the adoption (their lookups found nothing) go now, after their lookup as always.
      const [, woken] = await m.query<[unknown[], number]>(
        `UPDATE sync_jobs SET due_at = clock_timestamp(), updated_at = clock_timestamp()
         WHERE due_at > clock_timestamp() AND due_at <> 'infinity' AND lease_owner IS NULL`,
      );
      await this.trail.record(m, {
        ...actor,
        action: 'database.fork_adopted',
        subject: null,
        details: {
          reason,
          identity: describeIdentity(identityOf(live)),
          previousIdentity: row.previous_identity,
          forkKind: row.fork_kind,
          heldSince: row.sends_held_since.toISOString(),
          loadsWoken: Number(woken),
        },
      });
    });
    this.logger.warn(`database identity adopted by ${actor.actor}: sends resume (${reason})`);
    return this.status();
  }

  /**
   * Under the identity row's lock: compare again (another worker may have handled it meanwhile), then make every open
   * job lookup-first in one statement, record the new identity and whether sends are held, and say so in the trail.
   */
  private async handle(m: EntityManager, trigger: string, actor: AuditActor): Promise<ForkReport | null> {
    const [row]: IdentityRow[] = await m.query(`SELECT *, ${SILENT_MS_SQL} FROM database_identity WHERE id = 1 FOR UPDATE`);
    const [live]: LiveRow[] = await m.query(LIVE_IDENTITY_SQL);
    const kind = kindOf(row, live) ?? (trigger === 'start' && row.silent_ms > SILENCE_MS ? 'silence' : null);
    if (kind === null) return null;
    const policy = this.config.forkPolicy;
    const hold = kind !== 'silence' && (policy === 'hold-all' || (policy === 'hold' && kind !== 'timeline'));
    const s = this.config.sync;
    // A send the other copy started before this moment may reach EnKash until its lease and the grace have passed.
    // Ordered by load id like every other path that locks several jobs, so none of them deadlocks with this.
    const [, openJobs] = await m.query<[unknown[], number]>(
      `UPDATE sync_jobs SET needs_lookup = true, updated_at = clock_timestamp(),
         lookup_after = greatest(coalesce(lookup_after, '-infinity'), clock_timestamp() + make_interval(secs => $1::float / 1000))
       WHERE load_id IN (SELECT load_id FROM sync_jobs ORDER BY load_id FOR UPDATE)`,
      [s.leaseMs + s.lookupGraceMs],
    );
    const previous = row ? describeIdentity(identityOf(row)) : null;
    const current = describeIdentity(identityOf(live));
    if (row) {
      await m.query(
        `UPDATE database_identity SET system_identifier = $1, database_oid = $2, timeline = $3, recorded_at = clock_timestamp(),
           alive_at = clock_timestamp(),
           sends_held_since = CASE WHEN $4 THEN coalesce(sends_held_since, clock_timestamp()) ELSE sends_held_since END,
           fork_kind = $5, fork_detected_at = clock_timestamp(), previous_identity = $6
         WHERE id = 1`,
        [live.system_identifier, live.database_oid, live.timeline, hold, kind, previous],
      );
    } else {
      await m.query(
        `INSERT INTO database_identity (system_identifier, database_oid, timeline, sends_held_since, fork_kind, fork_detected_at)
         VALUES ($1, $2, $3, CASE WHEN $4 THEN clock_timestamp() END, 'missing', clock_timestamp())`,
        [live.system_identifier, live.database_oid, live.timeline, hold],
      );
    }
    const report: ForkReport = { kind, previous, current, openJobs: Number(openJobs), sendsHeld: hold || row?.sends_held_since != null };
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
        ...(kind === 'silence' ? { silentSeconds: Math.round(row.silent_ms / 1000) } : {}),
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
