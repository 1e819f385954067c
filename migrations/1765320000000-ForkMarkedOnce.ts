import { MigrationInterface, QueryRunner } from 'typeorm';
import { briefly } from './support/briefly';

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
 */
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
    });
  }

  async down(q: QueryRunner): Promise<void> {
    await briefly(q, async () => {
      await q.query(`ALTER TABLE sync_jobs DROP COLUMN fork_mark`);
      await q.query(`ALTER TABLE database_identity DROP COLUMN fork_mark, DROP COLUMN fork_lookup_after`);
      await q.query(`DROP SEQUENCE sync_fork_marks`);
    });
  }
}
