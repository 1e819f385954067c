import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The auditor's two most frequent reads become functions whose plans are kept per connection (docs/design.md, "The
 * auditor's reads planned once", issue 17): a page of an account's balance history, and an account's balances as of a
 * moment. Sent as SQL, Postgres planned each on every call, and planning cost more than running them once the history
 * was partitioned by month: on a 1,000,000-load ledger (`pg_stat_statements`), 0.41–0.52 ms to plan a history page
 * against 0.90–1.1 ms to run it, 0.23–0.30 ms to plan a balance as of a moment against 0.05–0.07 ms to run it. As for
 * the worker's statements (migration 1765470000000), a function and not a named prepared statement, which pgbouncer in
 * transaction mode loses.
 *
 * The statements are the ones the code sent (JournalStore.historyPage and historyAt), with the optional bounds of a page
 * folded into one range of seq (a generic plan cannot drop a condition, so each bound that is not given is the range's
 * open end) and of time (open ends -infinity and infinity, which keep the partitions' pruning at the plan's start).
 */
const SETTINGS = `LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan SET enable_hashjoin = off
  SET enable_mergejoin = off SET enable_seqscan = off SET jit = off`;

/** The page's rows in one order: the columns of a history row a page answers (HistoryRow), with its transfer's description. */
const PAGE_IN = (order: 'ASC' | 'DESC') => `
      RETURN QUERY SELECT h.seq, h.at, h.event, h.load_id, h.transaction_id, t.description, h.d_pending_debits,
          h.d_pending_credits, h.d_posted_debits, h.d_posted_credits, h.pending_debits, h.pending_credits, h.posted_debits,
          h.posted_credits
        FROM account_history h LEFT JOIN journal_transactions t ON t.id = h.transaction_id
        WHERE h.account_id = p_account AND h.seq > p_after_seq AND h.seq < p_before_seq
          AND h.at >= p_from AND h.at < p_to
        ORDER BY h.seq ${order} LIMIT p_limit;`;

const PAGE = `
CREATE FUNCTION account_history_page(p_account bigint, p_desc boolean, p_after_seq bigint, p_before_seq bigint,
    p_from timestamptz, p_to timestamptz, p_limit int)
  RETURNS TABLE(seq bigint, at timestamptz, event text, load_id uuid, transaction_id uuid, description text,
    d_pending_debits bigint, d_pending_credits bigint, d_posted_debits bigint, d_posted_credits bigint,
    pending_debits bigint, pending_credits bigint, posted_debits bigint, posted_credits bigint)
  ${SETTINGS} AS $$
  #variable_conflict use_column
  BEGIN
    IF p_desc THEN${PAGE_IN('DESC')}
    ELSE${PAGE_IN('ASC')}
    END IF;
  END $$`;

/**
 * The first source that answers (docs/design.md, "The moment of an account's last change"): the account's own row when
 * it has not changed since the moment, its last history row at or before it, the row carried over the archive point
 * (`p_carried`, as the caller knows the archive; docs/operations.md, "Partitions and archive").
 */
const BALANCES_AT = `
CREATE FUNCTION account_balances_at(p_account bigint, p_at timestamptz, p_carried boolean)
  RETURNS TABLE(pending_debits bigint, pending_credits bigint, posted_debits bigint, posted_credits bigint)
  ${SETTINGS} AS $$
  BEGIN
    RETURN QUERY SELECT b.* FROM accounts a CROSS JOIN LATERAL (
        (SELECT a.pending_debits, a.pending_credits, a.posted_debits, a.posted_credits
         WHERE CASE WHEN a.history_seq = 0 THEN a.created_at ELSE a.history_at END <= p_at)
        UNION ALL
        (SELECT h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits FROM account_history h
         WHERE h.account_id = a.id AND h.at <= p_at ORDER BY h.at DESC, h.seq DESC LIMIT 1)
        UNION ALL
        (SELECT c.pending_debits, c.pending_credits, c.posted_debits, c.posted_credits FROM account_history_carried c
         WHERE p_carried AND c.account_id = a.id ORDER BY c.seq DESC LIMIT 1)
        LIMIT 1) b
      WHERE a.id = p_account;
  END $$`;

export class AuditorReadsPlannedOnce1765490000000 implements MigrationInterface {
  name = 'AuditorReadsPlannedOnce1765490000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(PAGE);
    await q.query(BALANCES_AT);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION account_balances_at(bigint, timestamptz, boolean)`);
    await q.query(`DROP FUNCTION account_history_page(bigint, boolean, bigint, bigint, timestamptz, timestamptz, int)`);
  }
}
