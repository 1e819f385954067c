import { EnKashLookupMatch, EnKashLookupResult, EnKashOutcome } from '../../src/enkash/enkash.types';
import { mapBounded } from '../../src/reconciliation/bounded';
import { compareBalance, compareLoad, LedgerBalance, SettledLoad } from '../../src/reconciliation/reconciliation.compare';
import { loadConfig } from '../../src/config/app-config';

const load = (over: Partial<SettledLoad> = {}): SettledLoad => ({
  id: '00000000-0000-4000-8000-000000000001',
  reference: 'CLREF1',
  enKashCardId: 'EKCUNIT001',
  companyId: 'CEKEP5GSGP',
  cardAccountId: 'CABFIPS',
  amountMinor: 1500n,
  status: 'posted',
  undone: false,
  settledAt: new Date('2026-03-05T10:00:00Z'),
  settledAgeMs: 60_000,
  ...over,
});
const record = (status: EnKashLookupMatch['status'], amountMinor: bigint | null = 1500n): EnKashLookupMatch => ({
  status,
  rawStatus: status.toUpperCase(),
  amountMinor,
  raw: { pgReferenceNumber: 'CLREF1' },
});
const found = (...matches: EnKashLookupMatch[]): EnKashOutcome<EnKashLookupResult> => ({
  kind: 'succeeded',
  value: { matches },
  httpStatus: 200,
  code: '0',
  message: 'Success',
  durationMs: 3,
});
const kindOf = (c: ReturnType<typeof compareLoad>) => (c.verdict === 'finding' ? c.finding.kind : c.verdict);
const GRACE_MS = 30_000;

describe('compareLoad', () => {
  it('should find a posted load consistent when EnKash applied it once with our amount', () => {
    expect(kindOf(compareLoad(load(), found(record('success')), GRACE_MS))).toBe('consistent');
  });

  it('should name each mismatch of a posted load', () => {
    expect(kindOf(compareLoad(load(), found(record('success'), record('success')), GRACE_MS))).toBe('enkash_applied_multiple');
    expect(kindOf(compareLoad(load(), found(record('failed'), record('success', 999n)), GRACE_MS))).toBe('amount_mismatch');
    expect(kindOf(compareLoad(load(), found(record('failed')), GRACE_MS))).toBe('posted_missing_at_enkash');
    expect(kindOf(compareLoad(load(), found(), GRACE_MS))).toBe('posted_missing_at_enkash');
    expect(kindOf(compareLoad(load(), found(record('reversed')), GRACE_MS))).toBe('reversed_at_enkash');
  });

  it('should not trust "absent" for a load settled within the lookup grace', () => {
    expect(kindOf(compareLoad(load({ settledAgeMs: 100 }), found(), GRACE_MS))).toBe('too_fresh');
    // Present records are evidence whatever their age.
    expect(kindOf(compareLoad(load({ settledAgeMs: 100 }), found(record('success'), record('success')), GRACE_MS))).toBe(
      'enkash_applied_multiple',
    );
  });

  it('should treat a reversed or undone load as "no money here" and flag any application there', () => {
    for (const l of [load({ status: 'reversed' }), load({ undone: true })]) {
      expect(kindOf(compareLoad(l, found(), GRACE_MS))).toBe('consistent');
      expect(kindOf(compareLoad(l, found(record('reversed')), GRACE_MS))).toBe('consistent');
      expect(kindOf(compareLoad(l, found(record('success')), GRACE_MS))).toBe('reversed_but_applied');
    }
  });

  it('should record an unknown or systemic lookup as lookup_failed evidence, and an unreadable amount likewise', () => {
    const unknown: EnKashOutcome<EnKashLookupResult> = {
      kind: 'unknown',
      reason: 'http-502',
      httpStatus: 502,
      code: null,
      message: 'Bad Gateway',
      durationMs: 5,
    };
    const c = compareLoad(load(), unknown, GRACE_MS);
    expect(c).toMatchObject({
      verdict: 'finding',
      finding: {
        kind: 'lookup_failed',
        enkashAmountMinor: null,
        evidence: { ledger: { amount: '15.00', status: 'posted' }, enkash: { outcome: 'unknown', reason: 'http-502', httpStatus: 502 } },
      },
    });
    expect(kindOf(compareLoad(load(), found(record('success', null)), GRACE_MS))).toBe('lookup_failed');
  });

  it('should keep what both sides said, with money as decimal strings', () => {
    const c = compareLoad(load(), found(record('success'), record('success', 2500n)), GRACE_MS);
    expect(c).toMatchObject({
      verdict: 'finding',
      finding: {
        kind: 'enkash_applied_multiple',
        loadId: load().id,
        reference: 'CLREF1',
        accountCode: 'card:EKCUNIT001',
        ledgerAmountMinor: 1500n,
        enkashAmountMinor: 4000n,
        evidence: {
          enkash: {
            recordCount: 2,
            records: [
              { status: 'success', amount: '15.00' },
              { status: 'success', amount: '25.00' },
            ],
          },
        },
      },
    });
    // Evidence goes into jsonb as is: no bigint may hide in it.
    expect(() => JSON.stringify(c.verdict === 'finding' && c.finding.evidence)).not.toThrow();
  });
});

describe('compareBalance', () => {
  const card = (postedCreditsMinor: bigint, pendingCreditsMinor = 0n): LedgerBalance => ({
    normalSide: 'credit',
    postedDebitsMinor: 0n,
    postedCreditsMinor,
    pendingDebitsMinor: 0n,
    pendingCreditsMinor,
  });
  const enkash = (balanceMinor: bigint | null) => ({
    kind: 'succeeded' as const,
    value: { balanceMinor, raw: {} },
    httpStatus: 200,
    code: '0',
    message: 'Success',
    durationMs: 1,
  });
  const compare = (before: LedgerBalance, after: LedgerBalance, balanceMinor: bigint | null) =>
    compareBalance({
      kind: 'card_balance_drift',
      accountCode: 'card:EKCUNIT001',
      before,
      after,
      enkash: enkash(balanceMinor),
      call: 'card-balance',
    });

  it('should accept any balance a load in flight can explain, and flag the rest with both numbers', () => {
    expect(compare(card(1000n), card(1000n), 1000n)).toBeNull();
    expect(compare(card(1000n, 500n), card(1000n, 500n), 1500n)).toBeNull();
    // Posted between the two reads: the union of both ranges.
    expect(compare(card(1000n, 500n), card(1500n), 1500n)).toBeNull();
    expect(compare(card(1000n), card(1000n), 1700n)).toMatchObject({
      kind: 'card_balance_drift',
      ledgerAmountMinor: 1000n,
      enkashAmountMinor: 1700n,
      evidence: {
        ledger: { posted: '10.00', expectedLow: '10.00', expectedHigh: '10.00' },
        enkash: { balance: '17.00', differenceFromPosted: '7.00' },
      },
    });
  });

  it('should record an unreadable balance as lookup_failed', () => {
    expect(compare(card(1000n), card(1000n), null)).toMatchObject({ kind: 'lookup_failed', accountCode: 'card:EKCUNIT001' });
  });
});

describe('RECONCILE_INTERVAL_MS', () => {
  const reconcileIntervalMs = (env: Record<string, string>) => loadConfig(env).reconciliation.intervalMs;
  it('should default to one hour and refuse values out of bounds by name', () => {
    expect(reconcileIntervalMs({})).toBe(3600_000);
    expect(reconcileIntervalMs({ RECONCILE_INTERVAL_MS: '60000' })).toBe(60_000);
    for (const bad of ['0', '-5', '1e6', 'soon', String(8 * 24 * 3600_000)]) {
      expect(() => reconcileIntervalMs({ RECONCILE_INTERVAL_MS: bad })).toThrow(/RECONCILE_INTERVAL_MS must be an integer/);
    }
  });
});

describe('mapBounded', () => {
  it('should keep at most the limit in flight and start nothing once told to stop', async () => {
    let inFlight = 0;
    let peak = 0;
    let started = 0;
    const results = await mapBounded(
      Array.from({ length: 40 }, (_, i) => i),
      8,
      async (i) => {
        started += 1;
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight -= 1;
        return i * 2;
      },
      () => started >= 20,
    );
    expect(peak).toBe(8);
    expect(results.filter((r) => r !== undefined)).toHaveLength(20);
    expect(results.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });
});
