import { MigrationInterface, QueryRunner } from 'typeorm';
import { briefly } from './support/briefly';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * A fork of the database is marked once on the identity row instead of written into every open job (docs/design.md,
 * "A database that is a copy"; issue 19). Making every open job lookup-first in one UPDATE locked and rewrote the
 * whole outbox: with 10,000,000 open loads it was still running after 5 min 40 s, and nothing could be claimed
 * meanwhile.
 *
 * Now a fork takes a number from `sync_fork_marks` into `database_identity.fork_mark`, with the moment before which no
 * lookup may be believed (`fork_lookup_after`). Every job takes a number from the same sequence when it is made, and
 * the fork's number when it is claimed: a job whose `fork_mark` is below the identity's existed at a fork and has not
 * been claimed since, and its next claim treats it as lookup-first, not before `fork_lookup_after`. Jobs made before
 * this migration have none (NULL counts as below every mark). Both columns are added without a rewrite: a nullable
 * column without a default, then a default for the rows to come.
 *
 * Older releases do not read the mark, and this release must not let them act on it unseen:
 * - `sync_jobs_claim_reads_fork` refuses a claim that leaves a job below the mark: only a claim of this release
 *   takes it, so a worker of an older release (a rolling deploy, a rollback of the code alone) fails loudly instead
 *   of sending a load the other copy may have sent. The trigger runs on claims only (a new claim token), and reads
 *   the identity in the claim's own snapshot (STABLE), so a claim racing the fork is judged as its statement saw it.
 * - `settlement_lock`, which an older API instance also calls before an operator's reversal, returns the fork's
 *   moment as the job's `lookup_after` when it is later: "a send may still land" includes the other copy's.
 * - `down()` writes the mark into every job below it before it drops the columns, so the release it goes back to
 *   finds them lookup-first: in batches by load id first, each its own short statement that skips rows a claim holds
 *   (the trigger keeps refusing older claims meanwhile), then once more for the rows skipped, with the DDL, in one
 *   brief transaction. Done inside that transaction alone, a lock timeout of the DDL would throw the whole rewrite
 *   away and start it again.
 */
/** Writes the mark into a job below it (`j`, with the identity row `i`): what a fork used to write. */
const MARK_WRITTEN = `needs_lookup = true, updated_at = clock_timestamp(), lookup_after = greatest(j.lookup_after, i.fork_lookup_after),
  fork_mark = i.fork_mark`;
const BELOW_MARK = `i.id = 1 AND coalesce(j.fork_mark, 0) < i.fork_mark`;
const DOWN_BATCH = 10_000;
const SETTLEMENT_LOCK_EDITS = [
  [
    `j.lease_expires_at, j.due_at, j.lookup_after, j.late_success_at`,
    `j.lease_expires_at, j.due_at,
                 greatest(j.lookup_after, (SELECT fi.fork_lookup_after FROM database_identity fi WHERE fi.id = 1)), j.late_success_at`,
    1,
  ],
] as const;

export class ForkMarkedOnce1765320000000 implements MigrationInterface {
  name = 'ForkMarkedOnce1765320000000';
  /** One short transaction of its own (briefly): intake and claims wait at most 100 ms per try for the outbox's lock. */
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await briefly(q, async () => {
      await q.query(`CREATE SEQUENCE sync_fork_marks`);
      await q.query(`ALTER TABLE database_identity ADD COLUMN fork_mark bigint NOT NULL DEFAULT 0,
        ADD COLUMN fork_lookup_after timestamptz`);
      await q.query(`ALTER TABLE sync_jobs ADD COLUMN fork_mark bigint`);
      await q.query(`ALTER TABLE sync_jobs ALTER COLUMN fork_mark SET DEFAULT nextval('sync_fork_marks')`);
      await q.query(`
        CREATE FUNCTION sync_jobs_claim_reads_fork() RETURNS trigger LANGUAGE plpgsql STABLE AS $$
        BEGIN
          IF coalesce(NEW.fork_mark, 0) < (SELECT coalesce(max(i.fork_mark), 0) FROM database_identity i WHERE i.id = 1) THEN
            RAISE EXCEPTION 'sync job of load % was open at a fork of the database, which this release of card-ledger does not read',
              NEW.load_id
              USING ERRCODE = '55000',
                HINT = 'stop the workers of releases before migration 1765320000000, or run its down() before starting them';
          END IF;
          RETURN NEW;
        END $$`);
      await q.query(`
        CREATE TRIGGER sync_jobs_claim_reads_fork BEFORE UPDATE ON sync_jobs FOR EACH ROW
          WHEN (NEW.claim_token IS NOT NULL AND NEW.claim_token IS DISTINCT FROM OLD.claim_token)
          EXECUTE FUNCTION sync_jobs_claim_reads_fork()`);
      await rewriteFunction(q, 'settlement_lock', SETTLEMENT_LOCK_EDITS);
    });
  }

  async down(q: QueryRunner): Promise<void> {
    for (let after: string | null = '00000000-0000-0000-0000-000000000000'; after !== null; ) {
      const [{ last }] = (await q.query(
        `WITH range AS (SELECT load_id FROM sync_jobs WHERE load_id > $1 ORDER BY load_id LIMIT ${DOWN_BATCH}),
              written AS (
                UPDATE sync_jobs j SET ${MARK_WRITTEN} FROM database_identity i
                WHERE ${BELOW_MARK} AND j.load_id IN (
                  SELECT s.load_id FROM sync_jobs s WHERE s.load_id IN (SELECT load_id FROM range) FOR UPDATE SKIP LOCKED))
         SELECT (SELECT load_id FROM range ORDER BY load_id DESC LIMIT 1)::text AS last`,
        [after],
      )) as Array<{ last: string | null }>;
      after = last;
    }
    await briefly(q, async () => {
      await q.query(`UPDATE sync_jobs j SET ${MARK_WRITTEN} FROM database_identity i WHERE ${BELOW_MARK}`);
      await rewriteFunction(q, 'settlement_lock', undone(SETTLEMENT_LOCK_EDITS));
      await q.query(`DROP TRIGGER sync_jobs_claim_reads_fork ON sync_jobs`);
      await q.query(`DROP FUNCTION sync_jobs_claim_reads_fork()`);
      await q.query(`ALTER TABLE sync_jobs DROP COLUMN fork_mark`);
      await q.query(`ALTER TABLE database_identity DROP COLUMN fork_mark, DROP COLUMN fork_lookup_after`);
      await q.query(`DROP SEQUENCE sync_fork_marks`);
    });
  }
}
