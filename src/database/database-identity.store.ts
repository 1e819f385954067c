import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { LIVE_IDENTITY_SQL, SEND_GATE_SQL, SendGate } from './identity-sql';

/**
 * cluster: another system identifier (a dump restored into another server, pg_upgrade). database: another database
 * OID in the same cluster (pg_restore into a new database, CREATE DATABASE ... TEMPLATE). timeline: a promoted
 * replica or a point-in-time restore. silence: the same identity, but no worker was alive for SILENCE_MS (what a
 * file-system snapshot or a base backup started as is looks like). missing: the identity row is gone.
 */
export type ForkKind = 'cluster' | 'database' | 'timeline' | 'silence' | 'missing';

/** The identity the ledger recorded (database_identity, one row), with how long no worker has said it is alive. */
export interface IdentityRow {
  system_identifier: string;
  database_oid: string;
  timeline: number;
  alive_at: Date;
  sends_held_since: Date | null;
  fork_kind: ForkKind | null;
  fork_detected_at: Date | null;
  previous_identity: string | null;
  silent_ms: number;
}

/** The identity of the database this session is connected to (LIVE_IDENTITY_SQL). */
export interface LiveIdentityRow {
  system_identifier: string;
  database_oid: string;
  timeline: number;
}

const RECORDED_SQL = `SELECT *, (extract(epoch FROM clock_timestamp() - alive_at) * 1000)::float8 AS silent_ms
  FROM database_identity WHERE id = 1`;

/**
 * database_identity: the identity of the database the ledger runs on (docs/design.md, "A database that is a copy"),
 * compared with the live one, and the send gate built on both. What a fork does to the open jobs is SyncJobsStore's.
 */
@Injectable()
export class DatabaseIdentityStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** The recorded identity (undefined when the row is gone) and the live one, read side by side. */
  async read(): Promise<{ recorded: IdentityRow | undefined; live: LiveIdentityRow }> {
    const [[recorded], [live]]: [IdentityRow[], LiveIdentityRow[]] = await Promise.all([
      this.ds.query<IdentityRow[]>(RECORDED_SQL),
      this.ds.query<LiveIdentityRow[]>(LIVE_IDENTITY_SQL),
    ]);
    return { recorded, live };
  }

  /** The same, with the identity row locked for the rest of the transaction `m`. */
  async lock(m: EntityManager): Promise<{ recorded: IdentityRow | undefined; live: LiveIdentityRow }> {
    const [recorded]: IdentityRow[] = await m.query(`${RECORDED_SQL} FOR UPDATE`);
    const [live]: LiveIdentityRow[] = await m.query(LIVE_IDENTITY_SQL);
    return { recorded, live };
  }

  /** Whether this database may send loads to EnKash now (SEND_GATE_SQL). */
  async sendGate(): Promise<SendGate> {
    const [gate]: Array<{ gate: SendGate }> = await this.ds.query(`SELECT ${SEND_GATE_SQL} AS gate`);
    return gate.gate;
  }

  /** A worker is alive on this database now (database time). */
  async keepAlive(): Promise<void> {
    await this.ds.query(`UPDATE database_identity SET alive_at = clock_timestamp() WHERE id = 1`);
  }

  /** An operator adopted this database: sends are no longer held. */
  async releaseSends(m: EntityManager): Promise<void> {
    await m.query(`UPDATE database_identity SET sends_held_since = NULL WHERE id = 1`);
  }

  /**
   * Records `live` as the ledger's database after a fork of `kind`, holding sends from now on when `hold`, with the
   * fork's mark: every job made before it is lookup-first at its next claim, and no lookup is believed before
   * `lookupAfterMs` from now, nor before an earlier fork's moment (SyncJobsStore's FORK). The mark is a number above
   * every job's made so far, taken here under the identity row's lock.
   */
  async recordFork(
    m: EntityManager,
    live: LiveIdentityRow,
    fork: { kind: ForkKind; hold: boolean; previous: string | null; rowExists: boolean; lookupAfterMs: number },
  ): Promise<void> {
    if (fork.rowExists) {
      await m.query(
        `UPDATE database_identity SET system_identifier = $1, database_oid = $2, timeline = $3, recorded_at = clock_timestamp(),
           alive_at = clock_timestamp(),
           sends_held_since = CASE WHEN $4 THEN coalesce(sends_held_since, clock_timestamp()) ELSE sends_held_since END,
           fork_kind = $5, fork_detected_at = clock_timestamp(), previous_identity = $6,
           fork_mark = nextval('sync_fork_marks'),
           fork_lookup_after = greatest(fork_lookup_after, clock_timestamp() + make_interval(secs => $7::float / 1000))
         WHERE id = 1`,
        [live.system_identifier, live.database_oid, live.timeline, fork.hold, fork.kind, fork.previous, fork.lookupAfterMs],
      );
    } else {
      await m.query(
        `INSERT INTO database_identity (system_identifier, database_oid, timeline, sends_held_since, fork_kind, fork_detected_at,
           fork_mark, fork_lookup_after)
         VALUES ($1, $2, $3, CASE WHEN $4 THEN clock_timestamp() END, 'missing', clock_timestamp(),
           nextval('sync_fork_marks'), clock_timestamp() + make_interval(secs => $5::float / 1000))`,
        [live.system_identifier, live.database_oid, live.timeline, fork.hold, fork.lookupAfterMs],
      );
    }
  }
}
