import { Instant } from '../common/instant';
import { JournalStore } from './journal.store';
import type { LedgerClock } from './ledger-clock';

export interface HistoryBalances {
  pendingDebits: bigint;
  pendingCredits: bigint;
  postedDebits: bigint;
  postedCredits: bigint;
}

/**
 * An account's two-phase balances as of a cut (everything with a time <= cut, docs/time.md), read from its
 * balance history by the (account_id, at, seq) index. Null before the account's opening row: it did not exist
 * then (invariant 10), which callers answer with a 404, never a silent zero. The caller makes the cut final
 * first (LedgerClock, which also refuses a cut before the archive point), so the answer never changes later. With
 * months archived, an account whose live history starts after the cut answers with its carried row.
 */
export async function balancesAsOf(
  clock: LedgerClock,
  journal: JournalStore,
  accountId: string,
  cut: Instant,
): Promise<HistoryBalances | null> {
  const h = await journal.historyAt(accountId, cut, (await clock.archivePoint()) !== null);
  if (h === null) return null;
  return {
    pendingDebits: BigInt(h.pending_debits),
    pendingCredits: BigInt(h.pending_credits),
    postedDebits: BigInt(h.posted_debits),
    postedCredits: BigInt(h.posted_credits),
  };
}
