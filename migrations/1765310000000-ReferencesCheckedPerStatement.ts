import { MigrationInterface, QueryRunner } from 'typeorm';
import { briefly } from './support/briefly';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * The references of journal entries and history rows (to their account and their journal transaction) are checked
 * by the statement triggers that already look those rows up, instead of by four foreign keys (docs/design.md,
 * invariant 11; issue 17). A foreign key checks each inserted row on its own: an index probe, and a FOR KEY SHARE
 * lock on the referenced row that dirties its page and writes a WAL record, for every entry and every history row
 * (four per card load). The balance trigger already probes each transaction of the statement (for its moment) and
 * each entry's account (for its currency); a missing one now fails there. A history row of sequence 0 opens an
 * account, which must exist; every later row continues the previous row of the same account (the chain trigger),
 * so it reaches back to that opening row; each transaction a history row names is probed once per statement.
 *
 * What the foreign keys also did, refuse deleting a referenced account or transaction, their own triggers already
 * do: both tables refuse DELETE and TRUNCATE (invariant 2), as they did before.
 *
 * Errors keep the foreign keys' SQLSTATE (23503) and constraint names, so a caller cannot tell the difference.
 * Measured in bench/RESULTS.md ("Issue 17, seventh step").
 */
const ENTRY_TRANSACTION_OLD = `  SELECT n.transaction_id INTO bad FROM (SELECT DISTINCT transaction_id, created_at FROM new_entries) n
  WHERE EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = n.transaction_id AND t.created_at <> n.created_at) LIMIT 1;
  IF FOUND THEN`;
const ENTRY_TRANSACTION_NEW = `  -- A transaction that does not exist has no moment: the same probe finds it (docs/design.md, invariant 11).
  SELECT n.transaction_id INTO bad FROM (SELECT DISTINCT transaction_id, created_at FROM new_entries) n
  WHERE (SELECT t.created_at FROM journal_transactions t WHERE t.id = n.transaction_id) IS DISTINCT FROM n.created_at LIMIT 1;
  IF FOUND AND NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = bad.transaction_id) THEN
    RAISE EXCEPTION 'journal entry refers to journal transaction %, which does not exist', bad.transaction_id
      USING ERRCODE = '23503', CONSTRAINT = 'journal_entries_transaction_id_fkey';
  ELSIF FOUND THEN`;
const ENTRY_ACCOUNT_OLD = `  SELECT n.currency INTO bad FROM new_entries n
  WHERE (SELECT a.currency FROM accounts a WHERE a.id = n.account_id) IS DISTINCT FROM n.currency LIMIT 1;
  IF FOUND THEN`;
const ENTRY_ACCOUNT_NEW = `  SELECT n.currency, n.account_id INTO bad FROM new_entries n
  WHERE (SELECT a.currency FROM accounts a WHERE a.id = n.account_id) IS DISTINCT FROM n.currency LIMIT 1;
  IF FOUND AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = bad.account_id) THEN
    RAISE EXCEPTION 'journal entry refers to account %, which does not exist', bad.account_id
      USING ERRCODE = '23503', CONSTRAINT = 'journal_entries_account_id_fkey';
  ELSIF FOUND THEN`;
const HISTORY_END_OLD = `      USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
  END IF;
  RETURN NULL;`;
const HISTORY_END_NEW = `      USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
  END IF;
  -- References (docs/design.md, invariant 11): an opening row's account exists (every later row continues one);
  -- each transaction named exists, one probe per distinct transaction of the statement. NOT (SELECT EXISTS …), not
  -- NOT EXISTS: an anti-join would leave the planner free to scan the whole table once per statement.
  SELECT n.account_id INTO bad FROM new_rows n
  WHERE n.seq = 0 AND NOT (SELECT EXISTS (SELECT 1 FROM accounts a WHERE a.id = n.account_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'history row refers to account %, which does not exist', bad.account_id
      USING ERRCODE = '23503', CONSTRAINT = 'account_history_account_id_fkey';
  END IF;
  SELECT k.transaction_id INTO bad FROM (SELECT DISTINCT transaction_id FROM new_rows WHERE transaction_id IS NOT NULL) k
  WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = k.transaction_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'history row refers to journal transaction %, which does not exist', bad.transaction_id
      USING ERRCODE = '23503', CONSTRAINT = 'account_history_transaction_id_fkey';
  END IF;
  RETURN NULL;`;

const EDITS = {
  journal_entries_check_balanced: [
    [ENTRY_TRANSACTION_OLD, ENTRY_TRANSACTION_NEW, 1],
    [ENTRY_ACCOUNT_OLD, ENTRY_ACCOUNT_NEW, 1],
  ],
  account_history_check_chain_set: [[HISTORY_END_OLD, HISTORY_END_NEW, 1]],
} as const;

/** The four foreign keys, by table; each partition carries a copy that goes and comes with its parent's. */
const KEYS = [
  ['journal_entries', 'journal_entries_account_id_fkey', 'account_id', 'accounts'],
  ['journal_entries', 'journal_entries_transaction_id_fkey', 'transaction_id', 'journal_transactions'],
  ['account_history', 'account_history_account_id_fkey', 'account_id', 'accounts'],
  ['account_history', 'account_history_transaction_id_fkey', 'transaction_id', 'journal_transactions'],
] as const;

export class ReferencesCheckedPerStatement1765310000000 implements MigrationInterface {
  name = 'ReferencesCheckedPerStatement1765310000000';
  transaction = false;

  /**
   * One short transaction: the triggers' new checks and the keys' drop together, so no write goes unchecked. Its
   * locks (the two tables, and accounts and journal_transactions, whose action triggers the drop removes) are taken
   * at once, each try waiting at most briefly()'s 100 ms: writers queue behind it no longer.
   */
  async up(q: QueryRunner): Promise<void> {
    await briefly(q, async () => {
      await q.query(`LOCK TABLE journal_entries, account_history, accounts, journal_transactions IN ACCESS EXCLUSIVE MODE`);
      for (const [fn, edits] of Object.entries(EDITS)) await rewriteFunction(q, fn, edits);
      for (const [table, key] of KEYS) await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${key}`);
    });
  }

  /**
   * The keys back, offline (as 1765300000000's down): each partition's NOT VALID then validated, so that the
   * parent's key, added last, adopts them instead of scanning under its lock.
   */
  async down(q: QueryRunner): Promise<void> {
    await q.startTransaction();
    try {
      for (const [table, key, column, target] of KEYS) {
        const parts = (await q.query(
          `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
          [table],
        )) as Array<{ relname: string }>;
        for (const { relname } of parts) {
          await q.query(`ALTER TABLE ${relname} ADD CONSTRAINT ${key} FOREIGN KEY (${column}) REFERENCES ${target}(id) NOT VALID`);
          await q.query(`ALTER TABLE ${relname} VALIDATE CONSTRAINT ${key}`);
        }
        await q.query(`ALTER TABLE ${table} ADD CONSTRAINT ${key} FOREIGN KEY (${column}) REFERENCES ${target}(id)`);
      }
      for (const [fn, edits] of Object.entries(EDITS)) await rewriteFunction(q, fn, undone(edits));
      await q.commitTransaction();
    } catch (e) {
      await q.rollbackTransaction();
      throw e;
    }
  }
}
