import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { useSyncApp, waitFor, waitForStatus } from './sync-harness';

/**
 * SYNC_CONCURRENCY bounds the EnKash calls in flight per worker. A load whose answer is in gives its slot back before
 * its settlement, which waits for a shared transaction; at most 2 × SYNC_CONCURRENCY may be started and not finished
 * (docs/design.md, "The worker's slots").
 */
describe("the sync worker's EnKash slots", () => {
  const CONCURRENCY = 2;
  const ctx = useSyncApp({ SYNC_CONCURRENCY: String(CONCURRENCY) });
  let batch = 0;

  afterEach(async () => {
    ctx.sim.state.setConfig({ latencyMs: 0 });
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  /** `n` pending loads in one request (so none can be claimed before the last is written), on one card. */
  const loads = async (n: number, card: string): Promise<Array<{ id: string; reference: string }>> => {
    batch += 1;
    const res = await ctx.app.api('POST', '/v1/card-loads/batch', {
      body: {
        loads: Array.from({ length: n }, (_, i) => ({
          idempotencyKey: `slots-${process.pid}-${batch}-${i}`,
          enKashCardId: card,
          amount: '1.00',
        })),
      },
    });
    expect(res.status).toBe(200);
    return res.body.results.map((r: { load: { id: string; reference: string } }) => r.load);
  };

  it('should never have more than SYNC_CONCURRENCY calls in flight, and use them all', async () => {
    ctx.sim.state.setConfig({ latencyMs: 80 });
    ctx.sim.state.peakCardCallsInFlight = 0;
    const made = await loads(10, 'EKCSLOT001');
    for (const l of made) await waitForStatus(ctx.app, l.id, ['posted']);
    expect(ctx.sim.state.peakCardCallsInFlight).toBe(CONCURRENCY);
    for (const l of made) expect(ctx.sim.state.appliedCount(l.reference)).toBe(1);
  });

  it('should send the next loads while answered ones wait to settle, and stop at 2 × SYNC_CONCURRENCY waiting to settle', async () => {
    ctx.sim.state.setConfig({ latencyMs: 150 });
    ctx.sim.state.peakCardCallsInFlight = 0;
    const sendsBefore = ctx.sim.state.requestCounts.balance;
    const made = await loads(10, 'EKCSLOT002');
    // Settlement takes the card's and the parent's rows: holding them keeps every answered load waiting to settle.
    await ctx.db.query('BEGIN');
    try {
      await ctx.db.query(`SELECT 1 FROM accounts WHERE code = 'card:EKCSLOT002' OR code LIKE 'parent:%' FOR UPDATE`);
      const sends = () => ctx.sim.state.requestCounts.balance - sendsBefore;
      // Before the slot was given back at the answer, two sends were all a blocked settlement let through.
      await waitFor('two slots of sends while the first two loads wait to settle', async () => sends() >= 2 * CONCURRENCY, 2_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(sends()).toBe(2 * CONCURRENCY);
      expect(ctx.sim.state.peakCardCallsInFlight).toBeLessThanOrEqual(CONCURRENCY);
      const pending = await ctx.app.api('GET', `/v1/card-loads/${made[0].id}`);
      expect(pending.body.status).toBe('pending');
    } finally {
      await ctx.db.query('COMMIT');
    }
    for (const l of made) await waitForStatus(ctx.app, l.id, ['posted']);
    for (const l of made) expect(ctx.sim.state.appliedCount(l.reference)).toBe(1);
  });
});
