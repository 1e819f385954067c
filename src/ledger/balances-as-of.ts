import { DataSource } from 'typeorm';
import { Instant } from '../common/instant';
import { atOrBeforeSql } from '../common/paging';

export interface HistoryBalances {
  pendingDebits: bigint; pendingCredits: bigint; postedDebits: bigint; postedCredits: bigint;
}

/**
 * An account's two-phase balances as of a cut (everything with a time <= cut, docs/time.md), read from its
 * balance history by the (account_id, at, seq) index. Null before the account's opening row: it did not exist
 * then (invariant 10), which callers answer with a 404, never a silent zero. The caller makes the cut final
 * first (LedgerClock), so the answer never changes later.
 */
export async function balancesAsOf(ds: DataSource, accountId: string, cut: Instant): Promise<HistoryBalances | null> {
  const rows: Array<{ pending_debits: string; pending_credits: string; posted_debits: string; posted_credits: string }> = await ds.query(
    `SELECT pending_debits, pending_credits, posted_debits, posted_credits FROM account_history
     WHERE account_id = $1 AND ${atOrBeforeSql('at', '$2')} ORDER BY at DESC, seq DESC LIMIT 1`, [accountId, cut.iso]);
  if (rows.length === 0) return null;
  const h = rows[0];
  return { pendingDebits: BigInt(h.pending_debits), pendingCredits: BigInt(h.pending_credits),
    postedDebits: BigInt(h.posted_debits), postedCredits: BigInt(h.posted_credits) };
}
