/** The timeline of a primary's current WAL file (see below): it changes at the moment of a promotion. */
export const PRIMARY_TIMELINE_SQL = `('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int`;

/**
 * The identity of the database a session is connected to, as one row (system_identifier, database_oid, timeline):
 * the cluster (new for every initdb), the database (new for every CREATE DATABASE), and the WAL timeline (new after
 * a promotion or a point-in-time restore). The timeline is read from the current WAL file's name, which changes at
 * the moment of promotion, not at the next checkpoint as pg_control_checkpoint() does; a standby (in recovery) has
 * no current WAL insert position, so there the last checkpoint's is used. Any role may read all three.
 * Migration 1765000000000 records the same three values, frozen there.
 */
export const LIVE_IDENTITY_SQL = `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
  (SELECT oid::bigint FROM pg_database WHERE datname = current_database()) AS database_oid,
  CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())
       ELSE ${PRIMARY_TIMELINE_SQL} END AS timeline`;

/**
 * May this session send a load to EnKash: 'open'; 'forked' when the database is not the one the ledger recorded
 * (not yet handled: every open job must first become lookup-first); 'held' when a fork was handled under
 * DATABASE_FORK_POLICY=hold and no operator has adopted it yet. Part of the fence before every send (sync-jobs.store.ts).
 * The comparison of LIVE_IDENTITY_SQL with the record, as a function of migration 1765000000000 (its plan is kept).
 */
export const SEND_GATE_SQL = `ledger_send_gate()`;

export type SendGate = 'open' | 'forked' | 'held';
