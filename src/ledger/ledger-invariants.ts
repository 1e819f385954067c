/**
 * The docs/design.md invariants as SQL, checked against the whole database. Each query returns the offending rows
 * (at most `limit`), each naming its row in `row`; none means the invariant holds. The audit verifier
 * (audit-verifier.service.ts) runs them on a schedule; the suites that write money and the soak run them through
 * test/support/ledger-checks.ts.
 * Each is one statement, so it reads one snapshot while writers go on: balances and entries agree in it.
 */
export interface LedgerCheck {
  name: string;
  /** What a row means, for a finding's message. */
  says: string;
  sql: (limit: number) => string;
}

/**
 * Each account's row carried over the archive point (account_history_carried; docs/operations.md, "Partitions and
 * archive"): the history and entries before the point are archived, so the checks start from it. Empty when nothing
 * is archived, and the checks are then what they were.
 */
const CARRIED = `(SELECT DISTINCT ON (account_id) account_id, seq, at, d_pending_debits, d_pending_credits, d_posted_debits,
  d_posted_credits, pending_debits, pending_credits, posted_debits, posted_credits
  FROM account_history_carried ORDER BY account_id, seq DESC)`;
const HISTORY_COLUMNS = `account_id, seq, at, d_pending_debits, d_pending_credits, d_posted_debits, d_posted_credits,
  pending_debits, pending_credits, posted_debits, posted_credits`;

export const LEDGER_CHECKS: readonly LedgerCheck[] = [
  {
    name: 'unbalancedTransactions',
    says: 'journal transaction whose debits and credits differ (invariant 1)',
    sql: (limit) => `
      SELECT transaction_id::text AS row, currency FROM journal_entries GROUP BY transaction_id, currency
      HAVING sum(CASE direction WHEN 'debit' THEN amount ELSE -amount END) <> 0 LIMIT ${limit}`,
  },
  {
    name: 'balancesDifferFromEntries',
    says: 'account whose balances differ from the sum of its entries (invariant 3)',
    sql: (limit) => `
      WITH e AS (
        SELECT e.account_id,
          sum(e.amount) FILTER (WHERE t.kind = 'pending' AND e.direction = 'debit')
            - coalesce(sum(e.amount) FILTER (WHERE t.kind IN ('post_pending','void_pending') AND e.direction = 'debit'), 0) AS pd,
          sum(e.amount) FILTER (WHERE t.kind = 'pending' AND e.direction = 'credit')
            - coalesce(sum(e.amount) FILTER (WHERE t.kind IN ('post_pending','void_pending') AND e.direction = 'credit'), 0) AS pc,
          sum(e.amount) FILTER (WHERE t.kind IN ('posted','post_pending') AND e.direction = 'debit') AS sd,
          sum(e.amount) FILTER (WHERE t.kind IN ('posted','post_pending') AND e.direction = 'credit') AS sc
        FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id GROUP BY e.account_id)
      SELECT a.code AS row FROM accounts a LEFT JOIN e ON e.account_id = a.id LEFT JOIN ${CARRIED} c ON c.account_id = a.id
      WHERE a.pending_debits <> coalesce(c.pending_debits, 0) + coalesce(e.pd, 0)
         OR a.pending_credits <> coalesce(c.pending_credits, 0) + coalesce(e.pc, 0)
         OR a.posted_debits <> coalesce(c.posted_debits, 0) + coalesce(e.sd, 0)
         OR a.posted_credits <> coalesce(c.posted_credits, 0) + coalesce(e.sc, 0) LIMIT ${limit}`,
  },
  {
    name: 'historyGaps',
    says: 'account whose history is not seq 0..n without gaps, or does not end at its balance row (invariants 3, 10)',
    sql: (limit) => `
      SELECT a.code AS row FROM accounts a LEFT JOIN (
        SELECT account_id, count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM account_history GROUP BY account_id) h ON h.account_id = a.id
      LEFT JOIN ${CARRIED} c ON c.account_id = a.id
      WHERE CASE WHEN h.account_id IS NULL THEN c.seq IS DISTINCT FROM a.history_seq
        ELSE h.lo <> coalesce(c.seq + 1, 0) OR h.hi <> h.lo + h.n - 1 OR h.hi <> a.history_seq END LIMIT ${limit}`,
  },
  {
    // The row's moment too: reads as of a moment answer from the account row when it is not later (history_at; NULL
    // on a moved account is "not known", and those reads look the history up).
    name: 'historyDiffersFromBalance',
    says: 'account whose balances or last change moment differ from its last history row (invariant 3)',
    sql: (limit) => `
      SELECT a.code AS row FROM accounts a
      JOIN (SELECT ${HISTORY_COLUMNS} FROM account_history UNION ALL SELECT * FROM ${CARRIED} c) h
        ON h.account_id = a.id AND h.seq = a.history_seq
      WHERE (h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits)
         <> (a.pending_debits, a.pending_credits, a.posted_debits, a.posted_credits)
        OR h.at <> CASE WHEN a.history_seq = 0 THEN a.created_at ELSE coalesce(a.history_at, h.at) END LIMIT ${limit}`,
  },
  {
    // Each row = the previous row + its movement, and no earlier in time: what makes "as of" one answer.
    name: 'historyBroken',
    says: 'history row that does not continue the previous one, or goes back in time (invariants 3, 10)',
    sql: (limit) => `
      SELECT a.code || '#' || h.seq AS row FROM (
        SELECT h.*, lag(h.pending_debits) OVER w AS ppd, lag(h.pending_credits) OVER w AS ppc, lag(h.posted_debits) OVER w AS psd,
               lag(h.posted_credits) OVER w AS psc, lag(h.at) OVER w AS pat
        FROM (SELECT ${HISTORY_COLUMNS} FROM account_history UNION ALL SELECT * FROM ${CARRIED} c) h
        WINDOW w AS (PARTITION BY h.account_id ORDER BY h.seq)) h
      JOIN accounts a ON a.id = h.account_id
      WHERE CASE WHEN h.seq = 0 THEN (h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits) <> (0, 0, 0, 0)
        ELSE h.pending_debits <> h.ppd + h.d_pending_debits OR h.pending_credits <> h.ppc + h.d_pending_credits
          OR h.posted_debits <> h.psd + h.d_posted_debits OR h.posted_credits <> h.psc + h.d_posted_credits OR h.at < h.pat END
      LIMIT ${limit}`,
  },
  {
    // History is what as-of reads use: each row must be its transaction's entries on that account, no later than
    // the transaction's moment allows, and every entry must have its row. A row changed or added without an entry
    // (the running sums kept continuous) is named here; historyBroken alone would pass it.
    name: 'historyDiffersFromEntries',
    says:
      "history row whose movement or time is not its journal transaction's entries on the account, " +
      'or entries without one (invariant 3)',
    sql: (limit) => `
      WITH e AS (
        SELECT e.account_id, e.transaction_id, min(t.created_at) AS at,
          sum(CASE WHEN e.direction <> 'debit' THEN 0 WHEN t.kind = 'pending' THEN e.amount
                   WHEN t.kind IN ('post_pending', 'void_pending') THEN -e.amount ELSE 0 END) AS pd,
          sum(CASE WHEN e.direction <> 'credit' THEN 0 WHEN t.kind = 'pending' THEN e.amount
                   WHEN t.kind IN ('post_pending', 'void_pending') THEN -e.amount ELSE 0 END) AS pc,
          sum(e.amount) FILTER (WHERE t.kind IN ('posted', 'post_pending') AND e.direction = 'debit') AS sd,
          sum(e.amount) FILTER (WHERE t.kind IN ('posted', 'post_pending') AND e.direction = 'credit') AS sc
        FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id GROUP BY e.account_id, e.transaction_id),
      h AS (
        SELECT account_id, transaction_id, min(seq) AS seq, min(at) AS at, sum(d_pending_debits) AS pd, sum(d_pending_credits) AS pc,
               sum(d_posted_debits) AS sd, sum(d_posted_credits) AS sc
        FROM account_history WHERE seq > 0 GROUP BY account_id, transaction_id, CASE WHEN transaction_id IS NULL THEN seq END)
      SELECT a.code || '#' || coalesce(h.seq::text, 'tx:' || e.transaction_id) AS row
      FROM h FULL JOIN e ON e.account_id = h.account_id AND e.transaction_id = h.transaction_id
      JOIN accounts a ON a.id = coalesce(h.account_id, e.account_id)
      WHERE h.account_id IS NULL OR e.account_id IS NULL OR h.at < e.at
         OR (h.pd, h.pc, h.sd, h.sc) <> (e.pd, e.pc, coalesce(e.sd, 0), coalesce(e.sc, 0)) LIMIT ${limit}`,
  },
  {
    // The statement triggers refuse such rows (migrations 1765310000000 and 1765480000000); this names one written
    // around them (triggers off). Each part alone, so each is one anti-join, not a probe per row. A seal naming no
    // transaction is the seal chain's finding ('sealed transaction is missing'), not repeated here.
    name: 'danglingReferences',
    says: 'row naming an account, journal transaction or card load that does not exist (invariant 11)',
    sql: (limit) => `
      (SELECT 'entry:' || e.id AS row FROM journal_entries e WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id)
       UNION ALL
       SELECT 'entry:' || e.id FROM journal_entries e WHERE NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = e.transaction_id)
       UNION ALL
       SELECT 'history:' || h.account_id || '#' || h.seq FROM account_history h
       WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = h.account_id)
       UNION ALL
       SELECT 'history:' || h.account_id || '#' || h.seq FROM account_history h
       WHERE h.transaction_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = h.transaction_id)
       UNION ALL
       SELECT 'transaction:' || t.id FROM journal_transactions t
       CROSS JOIN LATERAL (VALUES (t.pending_id), (t.undoes_id)) AS r(id)
       WHERE r.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM journal_transactions x WHERE x.id = r.id)
       UNION ALL
       SELECT 'unsealed:' || u.transaction_id FROM journal_unsealed u
       WHERE NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = u.transaction_id)
       UNION ALL
       SELECT 'load event:' || e.id FROM load_events e WHERE NOT EXISTS (SELECT 1 FROM card_loads l WHERE l.id = e.load_id)
       UNION ALL
       SELECT 'sync job:' || j.load_id FROM sync_jobs j WHERE NOT EXISTS (SELECT 1 FROM card_loads l WHERE l.id = j.load_id))
      LIMIT ${limit}`,
  },
  {
    name: 'resolvedTwice',
    says: 'pending transfer resolved more than once (invariant 9)',
    sql: (limit) => `SELECT pending_id::text AS row FROM journal_transactions WHERE pending_id IS NOT NULL
                     GROUP BY pending_id HAVING count(*) > 1 LIMIT ${limit}`,
  },
  {
    name: 'loadLedgerMismatch',
    says: 'card load whose status disagrees with its ledger effect (invariants 4, 6)',
    sql: (limit) => `
      SELECT l.id::text AS row, l.status FROM card_loads l
      LEFT JOIN journal_transactions r ON r.pending_id = l.journal_transaction_id
      WHERE (l.status = 'posted' AND r.kind IS DISTINCT FROM 'post_pending')
         OR (l.status = 'reversed' AND r.kind IS DISTINCT FROM 'void_pending')
         OR (l.status IN ('pending', 'needs_review') AND r.kind IS NOT NULL) LIMIT ${limit}`,
  },
  {
    name: 'cardBalanceDiffersFromLoads',
    says: 'card whose posted balance differs from its posted loads (invariant 6)',
    sql: (limit) => `
      SELECT a.code AS row FROM accounts a
      LEFT JOIN (SELECT en_kash_card_id, sum(amount) FILTER (WHERE status = 'posted' AND undone_at IS NULL) AS posted
                 FROM card_loads GROUP BY en_kash_card_id) l ON a.code = 'card:' || l.en_kash_card_id
      WHERE a.code LIKE 'card:%' AND a.posted_credits - a.posted_debits <> coalesce(l.posted, 0) LIMIT ${limit}`,
  },
];
