import { MigrationInterface, QueryRunner } from 'typeorm';
import { briefly } from './support/briefly';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * The rest of the references a card load writes are checked once per statement, as migration 1765310000000 did for
 * journal entries and history rows (docs/design.md, invariant 11; issue 17): a load's events and its outbox job name
 * the load, its unsealed and seal rows name their journal transaction, and a resolving transaction names the pending
 * one. Seven foreign keys checked each inserted row on its own, nine times per card load from intake to seal, each an
 * index probe and a FOR KEY SHARE lock on the named row, which dirties its page and writes a WAL record.
 *
 * Now a statement trigger probes each row named, without a lock (none of those rows is ever deleted: card loads and
 * journal transactions refuse DELETE and TRUNCATE, and neither's id can change), and refuses a missing one with the
 * foreign key's SQLSTATE (23503) and name. On the seals and the transactions, the statement triggers they already have
 * do it. The named column of a job or an unsealed row cannot change either (those rows are updated and deleted, so a
 * trigger refuses an UPDATE of that column only; the claims and fences that update jobs never name it and do not fire it).
 *
 * Measured in bench/RESULTS.md ("Issue 17, fifteenth step").
 */

/**
 * One probe per distinct row named, not an anti-join (the planner may scan the whole table once per statement for one).
 * The target is named as the ledger's other functions name their tables, without a schema: the ledger lives in whatever
 * schema the search path names first (test/reports/trial-balance.property.spec.ts migrates one per run). A temporary
 * table of the same name would come first; the service's role may not make one (docs/operations.md, "Database roles").
 */
const probe = (fn: string, rows: string, column: string, target: string, what: string, key: string) => `
CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad uuid;
BEGIN
  -- docs/design.md, invariant 11: one probe per row named, no lock (a ${target} row is never deleted, its id never changes).
  SELECT k.${column} INTO bad FROM (SELECT DISTINCT ${column} FROM ${rows}) k
  WHERE NOT (SELECT EXISTS (SELECT 1 FROM ${target} x WHERE x.id = k.${column})) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '${what} %, which does not exist', bad
      USING ERRCODE = '23503', CONSTRAINT = '${key}';
  END IF;
  RETURN NULL;
END $$`;

/** [table, the function of its new statement trigger, its transition table, column, target, its message, the foreign key]. */
const PROBED = [
  ['load_events', 'load_events_check_load', 'new_events', 'load_id', 'card_loads', 'load event refers to card load', 'load_events_load_id_fkey'],
  ['sync_jobs', 'sync_jobs_check_load', 'new_jobs', 'load_id', 'card_loads', 'sync job refers to card load', 'sync_jobs_load_id_fkey'],
  [
    'journal_unsealed',
    'journal_unsealed_check_transaction',
    'new_unsealed',
    'transaction_id',
    'journal_transactions',
    'unsealed row refers to journal transaction',
    'journal_unsealed_transaction_id_fkey',
  ],
] as const;

/** Jobs and unsealed rows are updated (and deleted); the column naming the row they belong to never changes. */
const FIXED = `
CREATE FUNCTION ledger_refuse_reference_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%.%: the row it names cannot change', TG_TABLE_NAME, TG_ARGV[0] USING ERRCODE = 'P0001';
END $$`;
const FIXED_ON = [
  ['sync_jobs', 'load_id'],
  ['journal_unsealed', 'transaction_id'],
] as const;

const TRANSACTIONS_OLD = `      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  RETURN NULL;`;
const TRANSACTIONS_NEW = `      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  -- References (docs/design.md, invariant 11): the pending transfer a resolution names, the transaction an undo names.
  SELECT t.pending_id INTO bad FROM new_transactions t
  WHERE t.pending_id IS NOT NULL AND NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions p WHERE p.id = t.pending_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal transaction refers to pending transfer %, which does not exist', bad
      USING ERRCODE = '23503', CONSTRAINT = 'journal_transactions_pending_id_fkey';
  END IF;
  SELECT t.undoes_id INTO bad FROM new_transactions t
  WHERE t.undoes_id IS NOT NULL AND NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions u WHERE u.id = t.undoes_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal transaction refers to journal transaction % as the one it undoes, which does not exist', bad
      USING ERRCODE = '23503', CONSTRAINT = 'journal_transactions_undoes_id_fkey';
  END IF;
  RETURN NULL;`;
const SEALS_OLD = `      USING ERRCODE = '23514', CONSTRAINT = 'journal_seals_keyed';
  END IF;
  RETURN NULL;`;
const SEALS_NEW = `      USING ERRCODE = '23514', CONSTRAINT = 'journal_seals_keyed';
  END IF;
  -- References (docs/design.md, invariant 11): each sealed transaction exists.
  IF EXISTS (SELECT 1 FROM new_seals n WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = n.transaction_id))) THEN
    RAISE EXCEPTION 'seal refers to journal transaction %, which does not exist',
      (SELECT n.transaction_id FROM new_seals n
       WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = n.transaction_id)) LIMIT 1)
      USING ERRCODE = '23503', CONSTRAINT = 'journal_seals_transaction_id_fkey';
  END IF;
  RETURN NULL;`;
/** A card load's id, which the rows above name, joins the fields that never change. */
const LOAD_GUARD_OLD = `  IF NEW.reference <> OLD.reference OR`;
const LOAD_GUARD_NEW = `  IF NEW.id <> OLD.id OR NEW.reference <> OLD.reference OR`;

const EDITS = {
  journal_transactions_check_entries: [[TRANSACTIONS_OLD, TRANSACTIONS_NEW, 1]],
  journal_seals_keep_keyed: [[SEALS_OLD, SEALS_NEW, 1]],
  card_loads_guard: [[LOAD_GUARD_OLD, LOAD_GUARD_NEW, 1]],
} as const;

/**
 * [table, key, column, target]: the keys dropped, as they were (for down()). A load's own key to its pending transfer
 * stays: the load is written before its transfer in card_load_intake, so only a deferred check can hold it.
 */
const KEYS = [
  ['load_events', 'load_events_load_id_fkey', 'load_id', 'card_loads'],
  ['sync_jobs', 'sync_jobs_load_id_fkey', 'load_id', 'card_loads'],
  ['journal_unsealed', 'journal_unsealed_transaction_id_fkey', 'transaction_id', 'journal_transactions'],
  ['journal_seals', 'journal_seals_transaction_id_fkey', 'transaction_id', 'journal_transactions'],
  ['journal_transactions', 'journal_transactions_pending_id_fkey', 'pending_id', 'journal_transactions'],
  ['journal_transactions', 'journal_transactions_undoes_id_fkey', 'undoes_id', 'journal_transactions'],
] as const;

export class LoadReferencesCheckedPerStatement1765480000000 implements MigrationInterface {
  name = 'LoadReferencesCheckedPerStatement1765480000000';
  transaction = false;

  /**
   * One short transaction: the checks and the keys' drop together, so no write goes unchecked. Each try waits at most
   * briefly()'s 100 ms for its locks, then gives way to the writers and tries again. Nothing is scanned.
   */
  async up(q: QueryRunner): Promise<void> {
    await briefly(q, async () => {
      await q.query(
        `LOCK TABLE card_loads, journal_transactions, load_events, sync_jobs, journal_unsealed, journal_seals IN ACCESS EXCLUSIVE MODE`,
      );
      for (const [table, fn, rows, column, target, what, key] of PROBED) {
        await q.query(probe(fn, rows, column, target, what, key));
        await q.query(`CREATE TRIGGER ${table}_references AFTER INSERT ON ${table} REFERENCING NEW TABLE AS ${rows}
                       FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`);
      }
      await q.query(FIXED);
      for (const [table, column] of FIXED_ON) {
        await q.query(`CREATE TRIGGER ${table}_${column}_fixed BEFORE UPDATE OF ${column} ON ${table} FOR EACH ROW
                       WHEN (NEW.${column} IS DISTINCT FROM OLD.${column}) EXECUTE FUNCTION ledger_refuse_reference_change('${column}')`);
      }
      // The keys from load_events and sync_jobs made TRUNCATE card_loads fail; a trigger refuses it now.
      await q.query(`CREATE TRIGGER card_loads_no_truncate BEFORE TRUNCATE ON card_loads FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`);
      for (const [fn, edits] of Object.entries(EDITS)) await rewriteFunction(q, fn, edits);
      for (const [table, key] of KEYS) await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${key}`);
    });
  }

  /**
   * The keys back: NOT VALID with the triggers' removal in one short transaction, then each validated (a scan that takes
   * only a SHARE UPDATE EXCLUSIVE lock). A row written around the triggers fails its validation (the verifier's
   * danglingReferences names it): the keys then check new rows already, and down() may run again once it is dealt with.
   */
  async down(q: QueryRunner): Promise<void> {
    const [{ done }] = (await q.query(
      `SELECT NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'card_loads_no_truncate' AND tgrelid = 'card_loads'::regclass) AS done`,
    )) as Array<{ done: boolean }>;
    if (!done) {
      await briefly(q, async () => {
        for (const [table, key, column, target] of KEYS) {
          await q.query(`ALTER TABLE ${table} ADD CONSTRAINT ${key} FOREIGN KEY (${column}) REFERENCES ${target}(id) NOT VALID`);
        }
        for (const [fn, edits] of Object.entries(EDITS)) await rewriteFunction(q, fn, undone(edits));
        await q.query(`DROP TRIGGER card_loads_no_truncate ON card_loads`);
        for (const [table, column] of FIXED_ON) await q.query(`DROP TRIGGER ${table}_${column}_fixed ON ${table}`);
        await q.query(`DROP FUNCTION ledger_refuse_reference_change()`);
        for (const [table, fn] of PROBED) {
          await q.query(`DROP TRIGGER ${table}_references ON ${table}`);
          await q.query(`DROP FUNCTION ${fn}()`);
        }
      });
    }
    for (const [table, key] of KEYS) await q.query(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${key}`);
  }
}
