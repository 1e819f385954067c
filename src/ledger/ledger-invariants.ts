import { Client } from 'pg';

/**
 * The DESIGN.md invariants as SQL, checked against the whole database. Each returns the offending rows;
 * an empty array means the invariant holds. Shared by every suite that writes money (and by the soak).
 */
export async function ledgerViolations(c: Client): Promise<Record<string, unknown[]>> {
  const q = async (text: string) => (await c.query(text)).rows;
  return {
    // 1. every journal transaction balances per currency
    unbalancedTransactions: await q(`
      SELECT transaction_id, currency FROM journal_entries GROUP BY transaction_id, currency
      HAVING sum(CASE direction WHEN 'debit' THEN amount ELSE -amount END) <> 0`),
    // 3. balances equal the sum of entries by status
    balancesDifferFromEntries: await q(`
      WITH e AS (
        SELECT e.account_id,
          sum(e.amount) FILTER (WHERE t.kind = 'pending' AND e.direction = 'debit')
            - coalesce(sum(e.amount) FILTER (WHERE t.kind IN ('post_pending','void_pending') AND e.direction = 'debit'), 0) AS pd,
          sum(e.amount) FILTER (WHERE t.kind = 'pending' AND e.direction = 'credit')
            - coalesce(sum(e.amount) FILTER (WHERE t.kind IN ('post_pending','void_pending') AND e.direction = 'credit'), 0) AS pc,
          sum(e.amount) FILTER (WHERE t.kind IN ('posted','post_pending') AND e.direction = 'debit') AS sd,
          sum(e.amount) FILTER (WHERE t.kind IN ('posted','post_pending') AND e.direction = 'credit') AS sc
        FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id GROUP BY e.account_id)
      SELECT a.code FROM accounts a LEFT JOIN e ON e.account_id = a.id
      WHERE a.pending_debits <> coalesce(e.pd, 0) OR a.pending_credits <> coalesce(e.pc, 0)
         OR a.posted_debits <> coalesce(e.sd, 0) OR a.posted_credits <> coalesce(e.sc, 0)`),
    // 3. history: seq 0..n without gaps, last row equals the account's balances
    historyGaps: await q(`
      SELECT account_id FROM account_history GROUP BY account_id HAVING max(seq) <> count(*) - 1 OR min(seq) <> 0`),
    historyDiffersFromBalance: await q(`
      SELECT a.code FROM accounts a JOIN account_history h ON h.account_id = a.id AND h.seq = a.history_seq
      WHERE (h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits)
         <> (a.pending_debits, a.pending_credits, a.posted_debits, a.posted_credits)`),
    // 3/10. an account's history reads the same by seq and by time, so "as of" has one answer
    historyTimeOutOfOrder: await q(`
      SELECT account_id, seq FROM (SELECT account_id, seq, at, lag(at) OVER (PARTITION BY account_id ORDER BY seq) AS prev FROM account_history) h
      WHERE at < prev`),
    // 9. a pending transfer resolved at most once (also a unique index)
    resolvedTwice: await q(`SELECT pending_id FROM journal_transactions WHERE pending_id IS NOT NULL GROUP BY pending_id HAVING count(*) > 1`),
    // 4/6. a load's status agrees with its ledger effect
    loadLedgerMismatch: await q(`
      SELECT l.id, l.status FROM card_loads l
      LEFT JOIN journal_transactions r ON r.pending_id = l.journal_transaction_id
      WHERE (l.status = 'posted' AND r.kind IS DISTINCT FROM 'post_pending')
         OR (l.status = 'reversed' AND r.kind IS DISTINCT FROM 'void_pending')
         OR (l.status IN ('pending', 'needs_review') AND r.kind IS NOT NULL)`),
    // 6. a card's posted balance equals the sum of its posted loads minus undone ones
    cardBalanceDiffersFromLoads: await q(`
      SELECT a.code FROM accounts a
      LEFT JOIN (SELECT en_kash_card_id, sum(amount) FILTER (WHERE status = 'posted' AND undone_at IS NULL) AS posted
                 FROM card_loads GROUP BY en_kash_card_id) l ON a.code = 'card:' || l.en_kash_card_id
      WHERE a.code LIKE 'card:%' AND a.posted_credits - a.posted_debits <> coalesce(l.posted, 0)`),
  };
}

export function expectNoViolations(v: Record<string, unknown[]>): void {
  const broken = Object.entries(v).filter(([, rows]) => rows.length > 0);
  if (broken.length) throw new Error(`ledger invariants broken: ${JSON.stringify(broken).slice(0, 2000)}`);
}
