import { MigrationInterface, QueryRunner } from 'typeorm';
import { briefly } from './support/briefly';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * ledger_resolve_pending reads each pending transfer's entries once, not three times (issue 17): to take the turn on
 * its accounts, to copy them as the resolution's entries, and to move the balances, it looked them up each time (a
 * transaction by key, then its entries by transaction and moment, one index per attached month). The entries of a
 * transfer never change (docs/design.md, invariant 2), so one read into arrays serves all three; the statements keep
 * their order and the entries theirs (by pending transfer, then by the pending entry's id). Measured in
 * bench/RESULTS.md ("Issue 17, sixteenth step").
 */
const LOOKUP = `(SELECT pe.* FROM journal_transactions pt JOIN journal_entries pe ON pe.transaction_id = pt.id AND pe.created_at = pt.created_at WHERE pt.id = x.pending LIMIT 100) pe`;

const DECLARE_OLD = `      DECLARE
        bad uuid;
      BEGIN
`;
const DECLARE_NEW = `      DECLARE
        bad uuid;
        -- Each pending transfer's entries, read once: its position in p_pending, then the entry's columns.
        e_i bigint[];
        e_account bigint[];
        e_direction text[];
        e_amount bigint[];
        e_currency character(3)[];
      BEGIN
`;
const MOMENT_OLD = `        PERFORM ledger_begin_moment(ARRAY(
          SELECT DISTINCT e.account_id FROM unnest(p_pending) AS p(id)
          CROSS JOIN LATERAL (SELECT pe.account_id FROM journal_transactions pt JOIN journal_entries pe ON pe.transaction_id = pt.id AND pe.created_at = pt.created_at WHERE pt.id = p.id LIMIT 100) e));
`;
const MOMENT_NEW = `        SELECT array_agg(x.i ORDER BY x.i, pe.id), array_agg(pe.account_id ORDER BY x.i, pe.id),
               array_agg(pe.direction ORDER BY x.i, pe.id), array_agg(pe.amount ORDER BY x.i, pe.id),
               array_agg(pe.currency ORDER BY x.i, pe.id)
          INTO e_i, e_account, e_direction, e_amount, e_currency
          FROM unnest(p_pending) WITH ORDINALITY AS x(pending, i)
          CROSS JOIN LATERAL ${LOOKUP};
        PERFORM ledger_begin_moment(ARRAY(SELECT DISTINCT a FROM unnest(e_account) AS a));
`;
const COPY_OLD = `                FROM x CROSS JOIN LATERAL ${LOOKUP}
                WHERE EXISTS (SELECT 1 FROM t WHERE t.id = x.id)
                ORDER BY x.i, pe.id
`;
const COPY_NEW = `                FROM unnest(e_i, e_account, e_direction, e_amount, e_currency) WITH ORDINALITY AS pe(i, account_id, direction, amount, currency, n)
                JOIN x ON x.i = pe.i
                WHERE EXISTS (SELECT 1 FROM t WHERE t.id = x.id)
                ORDER BY pe.n
`;
const MOVES_OLD = `              CROSS JOIN LATERAL ${LOOKUP}
              GROUP BY`;
const MOVES_NEW = `              JOIN unnest(e_i, e_account, e_direction, e_amount) AS pe(i, account_id, direction, amount) ON pe.i = x.i
              GROUP BY`;

const EDITS = [
  [DECLARE_OLD, DECLARE_NEW, 1],
  [MOMENT_OLD, MOMENT_NEW, 1],
  [COPY_OLD, COPY_NEW, 1],
  [MOVES_OLD, MOVES_NEW, 1],
] as const;

export class PendingEntriesReadOnce1765490000000 implements MigrationInterface {
  name = 'PendingEntriesReadOnce1765490000000';
  transaction = false;

  /** A function's body only: one brief transaction (the writers that call it wait for it at most 100 ms a try). */
  async up(q: QueryRunner): Promise<void> {
    await briefly(q, () => rewriteFunction(q, 'ledger_resolve_pending', EDITS));
  }

  async down(q: QueryRunner): Promise<void> {
    await briefly(q, () => rewriteFunction(q, 'ledger_resolve_pending', undone(EDITS)));
  }
}
