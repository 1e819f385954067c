import { CsvColumns, CsvShape } from '../common/csv';
import { formatMinor } from '../common/money';
import { NormalSide } from '../ledger/ledger.types';

export type BalanceSums = { pending_debits: string; pending_credits: string; posted_debits: string; posted_credits: string };
export type AccountBalanceRow = BalanceSums & { code: string; name: string | null; currency: string; normal_side: NormalSide };
export type CurrencyTotalRow = BalanceSums & { currency: string; debit_balance: string; credit_balance: string };

/** An account's net posted balance sits in the debit or the credit column, as on a paper trial balance. */
export function accountLine(r: AccountBalanceRow) {
  const net = BigInt(r.posted_debits) - BigInt(r.posted_credits);
  return {
    code: r.code,
    name: r.name,
    currency: r.currency.trim(),
    normalSide: r.normal_side,
    debitBalance: formatMinor(net > 0n ? net : 0n),
    creditBalance: formatMinor(net < 0n ? -net : 0n),
    postedDebits: formatMinor(r.posted_debits),
    postedCredits: formatMinor(r.posted_credits),
    pendingDebits: formatMinor(r.pending_debits),
    pendingCredits: formatMinor(r.pending_credits),
  };
}

export type AccountLine = ReturnType<typeof accountLine>;

/** Totals per currency (sums across currencies mean nothing); `balanced` is debits = credits in each. */
export function currencyTotal(r: CurrencyTotalRow) {
  return {
    currency: r.currency.trim(),
    debitBalance: formatMinor(r.debit_balance),
    creditBalance: formatMinor(r.credit_balance),
    postedDebits: formatMinor(r.posted_debits),
    postedCredits: formatMinor(r.posted_credits),
    pendingDebits: formatMinor(r.pending_debits),
    pendingCredits: formatMinor(r.pending_credits),
    balanced:
      BigInt(r.debit_balance) === BigInt(r.credit_balance) &&
      BigInt(r.posted_debits) === BigInt(r.posted_credits) &&
      BigInt(r.pending_debits) === BigInt(r.pending_credits),
  };
}

export type CurrencyTotal = ReturnType<typeof currencyTotal>;

export type TrialBalanceLine = { line: 'account'; account: AccountLine } | { line: 'total'; total: CurrencyTotal };

const pick =
  <K extends keyof AccountLine & keyof CurrencyTotal>(key: K) =>
  (l: TrialBalanceLine) =>
    l.line === 'account' ? l.account[key] : l.total[key];

const COLUMNS: CsvColumns<TrialBalanceLine> = [
  ['line', (l) => l.line],
  ['code', (l) => (l.line === 'account' ? l.account.code : null)],
  ['name', (l) => (l.line === 'account' ? l.account.name : null)],
  ['currency', pick('currency')],
  ['normalSide', (l) => (l.line === 'account' ? l.account.normalSide : null)],
  ['debitBalance', pick('debitBalance')],
  ['creditBalance', pick('creditBalance')],
  ['postedDebits', pick('postedDebits')],
  ['postedCredits', pick('postedCredits')],
  ['pendingDebits', pick('pendingDebits')],
  ['pendingCredits', pick('pendingCredits')],
];

/** In CSV the account lines come first and one `total` line per currency closes the file. */
export const TRIAL_BALANCE_CSV: CsvShape<AccountLine, TrialBalanceLine> = {
  columns: COLUMNS,
  lines: (account) => [{ line: 'account', account }],
};
