import { MigrationInterface, QueryRunner } from 'typeorm';
import { briefly } from './support/briefly';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * Each account row carries the moment of its last history row, `history_at` (docs/design.md, "The moment of an
 * account's last change", issue 17). An account that has not moved since it opened (history_seq 0) has its opening
 * row at `created_at` and no `history_at`; NULL on a moved account means "not known" and is read from the history.
 *
 * Two readers looked that moment up in account_history, one index per attached monthly partition: every balance write
 * (ledger_apply_deltas, to keep a batch's moment from going back before an account's last change) and every balance
 * read as of a moment (the trial balance reads one per account). With the moment on the row, a write reads none, and
 * a read as of a moment at or after it answers from the account row itself, whose balances are that row's.
 *
 * Online on a populated ledger: the column (nullable, no default: no rewrite) and the function change in one brief
 * transaction. The accounts moved before it are dated afterwards, in the background (src/ledger/account-moments.ts):
 * until then they read as before, from their history, so nothing waits for a backfill here.
 */
/** The lookup of each account's last history row that `history_at` replaces (as migration 1765300000000 left it). */
const LOOKUP = `  SELECT max(h.at) INTO latest FROM (SELECT DISTINCT unnest(p_ids) AS id) k
    CROSS JOIN LATERAL (SELECT h.at FROM accounts a CROSS JOIN LATERAL (SELECT h.at FROM account_history h
                        WHERE h.account_id = a.id AND h.seq = a.history_seq ORDER BY h.at DESC LIMIT 1) h
                        WHERE a.id = k.id LIMIT 1) h;`;

const EDITS = [
  ['  moves ledger_move[];\nBEGIN', '  moves ledger_move[];\n  unknown boolean;\nBEGIN', 1],
  [
    LOOKUP,
    // A moved account whose moment is not known (NULL) is looked up as before: no migration leaves one, but an
    // account row written by hand may be one, and the check must stay exact.
    `  SELECT max(CASE WHEN a.history_seq = 0 THEN a.created_at ELSE a.history_at END),
         bool_or(a.history_seq > 0 AND a.history_at IS NULL) INTO latest, unknown
    FROM (SELECT DISTINCT unnest(p_ids) AS id) k
    CROSS JOIN LATERAL (SELECT a.history_seq, a.history_at, a.created_at FROM accounts a WHERE a.id = k.id) a;
  IF unknown THEN
  ${LOOKUP}
  END IF;`,
    1,
  ],
  ['    history_seq = p.seq\n', '    history_seq = p.seq, history_at = moment\n', 1],
] as const;

export class AccountsKnowTheirLastChange1765460000000 implements MigrationInterface {
  name = 'AccountsKnowTheirLastChange1765460000000';
  /** One short transaction of its own (briefly): writers of accounts wait at most 100 ms per try for its lock. */
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await briefly(q, async () => {
      // IF NOT EXISTS, and the function only if not rewritten yet: an interrupted run can run again.
      await q.query(`ALTER TABLE accounts ADD COLUMN IF NOT EXISTS history_at timestamptz`);
      await q.query(`COMMENT ON COLUMN accounts.history_at IS
        'The moment (at) of the account''s history row history_seq when history_seq > 0 (the opening row is at created_at); NULL: not known, read the row'`);
      const [{ done }] = (await q.query(
        `SELECT pg_get_functiondef('ledger_apply_deltas'::regproc) LIKE '%history_at = moment%' AS done`,
      )) as Array<{ done: boolean }>;
      if (!done) await rewriteFunction(q, 'ledger_apply_deltas', EDITS);
    });
  }

  async down(q: QueryRunner): Promise<void> {
    await briefly(q, async () => {
      await rewriteFunction(q, 'ledger_apply_deltas', undone(EDITS));
      await q.query(`ALTER TABLE accounts DROP COLUMN history_at`);
    });
  }
}
