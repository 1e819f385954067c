import { EnKashOutcome } from '../../src/enkash/enkash.types';
import { backoffMs, decideAfterLookup, decideAfterSend } from '../../src/sync/sync.decisions';
import { ClaimedJob } from '../../src/sync/sync-jobs.store';

const job = (over: Partial<ClaimedJob> = {}): ClaimedJob => ({
  token: '1',
  loadId: 'l',
  reference: 'R',
  enKashCardId: 'EKCAAAAAAA',
  companyId: 'CEKAAAAAAA',
  cardAccountId: 'CAA',
  amountMinor: 100n,
  description: null,
  remarks: null,
  loadStatus: 'pending',
  attempts: 0,
  budgetAgeMs: 0,
  wasNeedsLookup: false,
  lookupReady: true,
  lookupAfterMs: 0,
  unknownSeen: false,
  pendingRejection: null,
  rejectionConfirmable: false,
  requestId: null,
  lateSuccess: false,
  leaseFromMono: 0,
  ...over,
});
const base = { httpStatus: 200, code: '0', message: 'm', durationMs: 1 };
const rejected: EnKashOutcome<unknown> = { kind: 'rejected', httpStatus: 200, code: '1', message: 'no', durationMs: 1 };
const unknown: EnKashOutcome<unknown> = { kind: 'unknown', reason: 'timeout', httpStatus: null, code: null, message: 't', durationMs: 1 };
const lookup = (statuses: Array<'success' | 'failed' | 'reversed' | 'other'>) =>
  ({
    kind: 'succeeded',
    value: { matches: statuses.map((status) => ({ status, rawStatus: status, amountMinor: 100n, raw: {} })) },
    ...base,
  }) as const;

describe('settlement rules', () => {
  it('should reverse a definite rejection only on a first send', () => {
    expect(decideAfterSend(job(), rejected, true).action).toBe('reverse');
    expect(decideAfterSend(job(), rejected, false)).toMatchObject({ action: 'retry', pendingRejection: 'no', needsLookup: true });
    expect(decideAfterSend(job({ unknownSeen: true }), rejected, true).action).toBe('retry');
  });

  it('should never reverse on an unknown or systemic outcome', () => {
    expect(decideAfterSend(job(), unknown, true)).toMatchObject({ action: 'retry', unknownSeen: true, needsLookup: true });
    expect(decideAfterSend(job(), { ...unknown, kind: 'systemic' }, true).action).toBe('retry');
    expect(decideAfterLookup(job({ pendingRejection: 'x', rejectionConfirmable: true }), { ...unknown }).action).toBe('retry');
  });

  it('should post when a lookup finds the reference applied, even with a held rejection', () => {
    expect(decideAfterLookup(job({ pendingRejection: 'dup', rejectionConfirmable: true }), lookup(['success'])).action).toBe('post');
    expect(decideAfterLookup(job(), lookup(['failed', 'success'])).action).toBe('post');
  });

  it('should send only when the lookup says absent and nothing is held', () => {
    expect(decideAfterLookup(job(), lookup([])).action).toBe('send');
    expect(decideAfterLookup(job(), lookup(['failed'])).action).toBe('send');
    expect(decideAfterLookup(job(), lookup(['other'])).action).toBe('retry');
    expect(decideAfterLookup(job({ pendingRejection: 'dup' }), lookup([])).action).toBe('retry');
    expect(decideAfterLookup(job({ pendingRejection: 'dup', rejectionConfirmable: true }), lookup([])).action).toBe('reverse');
    expect(decideAfterLookup(job(), lookup(['reversed'])).action).toBe('reverse');
  });

  it('should back off exponentially with full jitter under a cap', () => {
    expect(backoffMs(0, 100, 1000, () => 0.999)).toBe(99);
    expect(backoffMs(3, 100, 1000, () => 0.999)).toBe(799);
    expect(backoffMs(20, 100, 1000, () => 0.999)).toBe(999);
    expect(backoffMs(5, 100, 1000, () => 0)).toBe(0);
  });
});
