import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fork safety (docs/operations.md, "Backup and restore"): the identity of the database the ledger runs on, kept
 * in the ledger itself. A dump restored into another database, a clone, a point-in-time restore or a promoted
 * replica carries this row along but no longer matches it, and the sync worker then treats every open load as
 * possibly sent by the other copy (src/database/database-identity.service.ts).
 *
 * Idempotent with the row: it is written once, here, when it does not exist yet, and never by a later migration,
 * so a restored database keeps the identity of the one it came from (which is the point). Run again, it changes
 * nothing.
 *
 * The first record cannot tell whether this database is itself a copy (a dump of an older release restored, then
 * migrated): so when it is written, every open job becomes lookup-first once, not before a send the other copy may
 * have on the wire could show at EnKash (the default lease plus the default grace: 60 s). On the original database
 * that costs each open load one lookup.
 */
export class DatabaseIdentity1765000000000 implements MigrationInterface {
  name = 'DatabaseIdentity1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE TABLE IF NOT EXISTS database_identity (
  id                 smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  -- pg_control_system().system_identifier: new for every initdb (a dump restored into another cluster).
  system_identifier  text NOT NULL,
  -- The database's OID: new for every CREATE DATABASE (pg_restore into a new database, CREATE DATABASE ... TEMPLATE).
  database_oid       bigint NOT NULL,
  -- The WAL timeline: a promoted replica or a point-in-time restore starts a new one.
  timeline           int NOT NULL,
  recorded_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Refreshed by running workers; a long silence followed by a start is treated like a copy (a file-system snapshot
  -- keeps all three identifiers).
  alive_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Set when a fork was detected under DATABASE_FORK_POLICY=hold: no load is sent until an operator adopts it.
  sends_held_since   timestamptz,
  -- The last fork seen: what it was, when, and the identity before it.
  fork_kind          text CHECK (fork_kind IN ('cluster', 'database', 'timeline', 'silence', 'missing')),
  fork_detected_at   timestamptz,
  previous_identity  text
);
-- The row may change (a fork adopted), never vanish: without it every start would look like a first one.
CREATE OR REPLACE TRIGGER database_identity_no_delete BEFORE DELETE ON database_identity
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE OR REPLACE TRIGGER database_identity_no_truncate BEFORE TRUNCATE ON database_identity
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- May this session send a load to EnKash: 'open'; 'forked' when the database is not the one recorded (a worker must
-- first make every open load lookup-first); 'held' when a fork was handled and waits for an operator. Part of the
-- fence before every send. PL/pgSQL so its plan is kept per session: about 20 µs, not the 100 µs of the same query
-- inlined into every fence (bench/RESULTS.md, "Fork safety"). The three identifiers are those the INSERT below records.
CREATE OR REPLACE FUNCTION ledger_send_gate() RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  i database_identity%ROWTYPE;
  live_timeline int;
BEGIN
  SELECT * INTO i FROM database_identity WHERE id = 1;
  live_timeline := CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())
                        ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END;
  IF i.id IS NULL
     OR i.system_identifier <> (SELECT system_identifier::text FROM pg_control_system())
     OR i.database_oid <> (SELECT oid::bigint FROM pg_database WHERE datname = current_database())
     OR i.timeline <> live_timeline THEN
    RETURN 'forked';
  END IF;
  RETURN CASE WHEN i.sends_held_since IS NOT NULL THEN 'held' ELSE 'open' END;
END $$;
`);
    // The same three values as src/database/identity-sql.ts reads (frozen here, as a migration must be).
    await q.query(`
WITH recorded AS (
  INSERT INTO database_identity (system_identifier, database_oid, timeline)
  SELECT (SELECT system_identifier::text FROM pg_control_system()),
         (SELECT oid::bigint FROM pg_database WHERE datname = current_database()),
         CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())
              ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END
  ON CONFLICT (id) DO NOTHING
  RETURNING 1)
UPDATE sync_jobs SET needs_lookup = true, updated_at = clock_timestamp(),
  lookup_after = greatest(coalesce(lookup_after, '-infinity'), clock_timestamp() + interval '60 seconds')
WHERE EXISTS (SELECT 1 FROM recorded)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS ledger_send_gate; DROP TABLE IF EXISTS database_identity`);
  }
}
