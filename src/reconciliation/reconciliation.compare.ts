import { cardAccountCode } from '../card-loads/intake-writer';
import { formatMinor } from '../common/money';
import { EnKashFailure, EnKashLookupMatch, EnKashLookupResult, EnKashOutcome } from '../enkash/enkash.types';
import { NormalSide } from '../ledger/ledger.types';

/**
 * What a reconciliation run concludes from what we hold and what EnKash shows. Pure functions: the run
 * (reconciliation.service.ts) reads both sides and records whatever these return.
 */
export const FINDING_KINDS = [
  'enkash_applied_multiple',
  'amount_mismatch',
  'posted_missing_at_enkash',
  'reversed_but_applied',
  'reversed_at_enkash',
  'lookup_failed',
  'card_balance_drift',
  'parent_balance_drift',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** JSON only: money in it is a decimal string, never a bigint. */
export type Evidence = Record<string, unknown>;

export interface NewFinding {
  kind: FindingKind;
  loadId: string | null;
  reference: string | null;
  accountCode: string | null;
  ledgerAmountMinor: bigint | null;
  enkashAmountMinor: bigint | null;
  evidence: Evidence;
}

export interface SettledLoad {
  id: string;
  reference: string;
  enKashCardId: string;
  companyId: string;
  cardAccountId: string;
  amountMinor: bigint;
  status: 'posted' | 'reversed';
  /** A posted load undone since (an opposite posted transfer): no money of it should remain on the card. */
  undone: boolean;
  settledAt: Date;
  /** By the database clock, when the page was read. */
  settledAgeMs: number;
}

export type LoadCheck =
  | { verdict: 'consistent' }
  /** EnKash shows nothing yet, but it shows records only after a lag: ask again in a later run. */
  | { verdict: 'too_fresh' }
  | { verdict: 'finding'; finding: NewFinding };

/** Bound on the EnKash records copied into one finding (a reference applied hundreds of times stays readable). */
const MAX_EVIDENCE_RECORDS = 20;

const money = (minor: bigint | null) => (minor === null ? null : formatMinor(minor));

export function failureEvidence(call: string, o: EnKashFailure): Evidence {
  return {
    call,
    outcome: o.kind,
    reason: o.kind === 'rejected' ? null : o.reason,
    httpStatus: o.httpStatus,
    code: o.code,
    message: o.message,
  };
}

function recordsEvidence(matches: EnKashLookupMatch[]): Evidence {
  return {
    call: 'lookup',
    outcome: 'succeeded',
    recordCount: matches.length,
    records: matches
      .slice(0, MAX_EVIDENCE_RECORDS)
      .map((m) => ({ status: m.status, rawStatus: m.rawStatus, amount: money(m.amountMinor), raw: m.raw })),
  };
}

function sumMinor(matches: EnKashLookupMatch[]): bigint | null {
  let sum = 0n;
  for (const m of matches) {
    if (m.amountMinor === null) return null;
    sum += m.amountMinor;
  }
  return sum;
}

/**
 * One settled load against EnKash's records of its reference. `graceMs` is SYNC_LOOKUP_GRACE_MS: EnKash's
 * "absent" is believed only for loads settled longer ago than that.
 */
export function compareLoad(load: SettledLoad, lookup: EnKashOutcome<EnKashLookupResult>, graceMs: number): LoadCheck {
  const ledger = {
    status: load.status,
    undone: load.undone,
    amount: formatMinor(load.amountMinor),
    settledAt: load.settledAt.toISOString(),
    enKashCardId: load.enKashCardId,
  };
  const found = (kind: FindingKind, enkashAmountMinor: bigint | null, enkash: Evidence): LoadCheck => ({
    verdict: 'finding',
    finding: {
      kind,
      loadId: load.id,
      reference: load.reference,
      accountCode: cardAccountCode(load.enKashCardId),
      ledgerAmountMinor: load.amountMinor,
      enkashAmountMinor,
      evidence: { ledger, enkash },
    },
  });
  if (lookup.kind !== 'succeeded') return found('lookup_failed', null, failureEvidence('lookup', lookup));
  const { matches } = lookup.value;
  const seen = recordsEvidence(matches);
  const applied = matches.filter((m) => m.status === 'success');

  if (load.status === 'reversed' || load.undone) {
    return applied.length > 0 ? found('reversed_but_applied', sumMinor(applied), seen) : { verdict: 'consistent' };
  }
  if (applied.length > 1) return found('enkash_applied_multiple', sumMinor(applied), seen);
  if (applied.length === 1) {
    const amount = applied[0].amountMinor;
    // An amount we cannot read is not a mismatch; keep the record as evidence rather than guess.
    if (amount === null) return found('lookup_failed', null, { ...seen, reason: 'amount-unreadable' });
    return amount === load.amountMinor ? { verdict: 'consistent' } : found('amount_mismatch', amount, seen);
  }
  const reversed = matches.filter((m) => m.status === 'reversed');
  if (reversed.length > 0) return found('reversed_at_enkash', sumMinor(reversed), seen);
  if (load.settledAgeMs < graceMs) return { verdict: 'too_fresh' };
  return found('posted_missing_at_enkash', null, seen);
}

/** An account's balances as read from the ledger at one moment. */
export interface LedgerBalance {
  normalSide: NormalSide;
  postedDebitsMinor: bigint;
  postedCreditsMinor: bigint;
  pendingDebitsMinor: bigint;
  pendingCreditsMinor: bigint;
}

export const ZERO_BALANCE: LedgerBalance = {
  normalSide: 'credit',
  postedDebitsMinor: 0n,
  postedCreditsMinor: 0n,
  pendingDebitsMinor: 0n,
  pendingCreditsMinor: 0n,
};

/**
 * What EnKash may rightly show while transfers are in flight: the posted balance, plus any pending
 * increases it may already have applied, minus any pending decreases.
 */
export function expectedRange(b: LedgerBalance): { posted: bigint; low: bigint; high: bigint } {
  const credit = b.normalSide === 'credit';
  const posted = credit ? b.postedCreditsMinor - b.postedDebitsMinor : b.postedDebitsMinor - b.postedCreditsMinor;
  const pendingUp = credit ? b.pendingCreditsMinor : b.pendingDebitsMinor;
  const pendingDown = credit ? b.pendingDebitsMinor : b.pendingCreditsMinor;
  return { posted, low: posted - pendingDown, high: posted + pendingUp };
}

export interface BalanceComparison {
  kind: 'card_balance_drift' | 'parent_balance_drift';
  accountCode: string;
  /** Ledger read before and after the EnKash call: a load settling in between must not look like drift. */
  before: LedgerBalance;
  after: LedgerBalance;
  enkash: EnKashOutcome<{ balanceMinor: bigint | null; raw: unknown }>;
  call: 'card-balance' | 'parent-account';
  note?: string;
}

export function compareBalance(c: BalanceComparison): NewFinding | null {
  const before = expectedRange(c.before);
  const after = expectedRange(c.after);
  const low = before.low < after.low ? before.low : after.low;
  const high = before.high > after.high ? before.high : after.high;
  const ledger = { posted: formatMinor(after.posted), expectedLow: formatMinor(low), expectedHigh: formatMinor(high) };
  const finding = (kind: FindingKind, enkashAmountMinor: bigint | null, enkash: Evidence): NewFinding => ({
    kind,
    loadId: null,
    reference: null,
    accountCode: c.accountCode,
    ledgerAmountMinor: after.posted,
    enkashAmountMinor,
    evidence: { ledger, enkash, ...(c.note ? { note: c.note } : {}) },
  });
  if (c.enkash.kind !== 'succeeded') return finding('lookup_failed', null, failureEvidence(c.call, c.enkash));
  const { balanceMinor, raw } = c.enkash.value;
  if (balanceMinor === null)
    return finding('lookup_failed', null, { call: c.call, outcome: 'succeeded', reason: 'balance-unreadable', raw });
  if (balanceMinor >= low && balanceMinor <= high) return null;
  return finding(c.kind, balanceMinor, {
    call: c.call,
    balance: formatMinor(balanceMinor),
    differenceFromPosted: formatMinor(balanceMinor - after.posted),
    raw,
  });
}
