import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { createLoad, useSyncApp, waitFor, waitForStatus } from './sync-harness';

/**
 * An operator acting while the worker talks to EnKash about the same load (docs/design.md, "Who may change a
 * load"): resolve and requeue are refused (409 load_in_flight) unless the job is parked, so an operator never
 * reverses a load whose send then lands, and two requeues never put two sends in flight. The simulator applies
 * a repeated reference again (apply-again), so any double send shows as money.
 */
describe('operators against an EnKash exchange in flight', () => {
  // Calls slow enough to act during (1 s), well inside the timeout; the lease fits two exchanges of 2 × 2.5 s.
  const ctx = useSyncApp({ ENKASH_TIMEOUT_MS: '2500', SYNC_LEASE_MS: '7000', SYNC_MAX_ATTEMPTS: '2' });
  let ops: string;
  const SLOW_MS = 1000;

  beforeAll(async () => {
    ops = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'night-operator', scopes: ['ops:write'] } })).body.key;
  });
  afterEach(async () => {
    ctx.sim.state.clearFaults();
    ctx.sim.state.setConfig({ latencyMs: 0 });
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  const act = (id: string, action: 'resolve' | 'requeue' | 'undo', body?: unknown) =>
    ctx.app.api('POST', `/v1/card-loads/${id}/${action}`, { key: ops, body: body ?? {} });

  /** A load in review with its job parked: two 503s exhaust a budget of two attempts. */
  async function loadInReview(card: string, amount: string) {
    const load = await createLoad(ctx.app, card, amount);
    ctx.sim.state.injectFault({ fault: 'http-503', reference: load.reference, count: 2 });
    await waitForStatus(ctx.app, load.id, ['needs_review']);
    // Reversal waits out the grace after the last send; requeue does not.
    return load;
  }

  const requestsFor = (reference: string, endpoint: 'balance' | 'transaction/all') =>
    ctx.sim.state.requestsFor(reference).filter((r) => r.endpoint === endpoint).length;

  it('should refuse to resolve a load while its requeued lookup, then its send, is in flight, and settle it once', async () => {
    const load = await loadInReview('EKCRACE001', '40.00');
    ctx.sim.state.setConfig({ latencyMs: SLOW_MS });
    const lookupsBefore = requestsFor(load.reference, 'transaction/all');
    expect((await act(load.id, 'requeue')).status).toBe(200);

    await waitFor('the requeued lookup to reach EnKash', async () => requestsFor(load.reference, 'transaction/all') > lookupsBefore);
    const duringLookup = await act(load.id, 'resolve', { outcome: 'reversed', reason: 'operator thinks it failed' });
    expect(duringLookup.status).toBe(409);
    expect(duringLookup.body.error.code).toBe('load_in_flight');
    expect(Number(duringLookup.headers.get('retry-after'))).toBeGreaterThan(0);

    const sendsBefore = requestsFor(load.reference, 'balance');
    await waitFor('the re-send to reach EnKash', async () => requestsFor(load.reference, 'balance') > sendsBefore);
    for (const outcome of ['reversed', 'posted']) {
      const duringSend = await act(load.id, 'resolve', { outcome, reason: 'operator races the send' });
      expect([duringSend.status, duringSend.body.error?.code]).toEqual([409, 'load_in_flight']);
    }

    const done = await waitForStatus(ctx.app, load.id, ['posted']);
    expect(ctx.sim.state.appliedCount(load.reference)).toBe(1);
    expect(done.events.filter((e: { type: string }) => e.type === 'settled')).toHaveLength(1);
    expect((await ctx.app.api('GET', '/v1/cards/EKCRACE001/balance')).body.posted).toBe('40.00');
  });

  it("should refuse a second requeue while the first one's send is in flight, and apply the load once", async () => {
    const load = await loadInReview('EKCRACE002', '25.00');
    ctx.sim.state.setConfig({ latencyMs: SLOW_MS });
    expect((await act(load.id.toUpperCase(), 'requeue')).status).toBe(200); // uuids are case-insensitive
    // Queued but not yet claimed, then claimed: a requeue is refused in both states.
    const queued = await act(load.id, 'requeue');
    expect([queued.status, queued.body.error.code]).toEqual([409, 'load_in_flight']);
    const sendsBefore = requestsFor(load.reference, 'balance');
    await waitFor('the re-send to reach EnKash', async () => requestsFor(load.reference, 'balance') > sendsBefore);
    const second = await act(load.id, 'requeue');
    expect([second.status, second.body.error.code]).toEqual([409, 'load_in_flight']);
    const job = await ctx.db.query(`SELECT lease_owner, claim_token FROM sync_jobs WHERE load_id = $1`, [load.id]);
    expect(job.rows[0].lease_owner).not.toBeNull(); // the refused requeue left the live lease alone

    await waitForStatus(ctx.app, load.id, ['posted']);
    expect(ctx.sim.state.appliedCount(load.reference)).toBe(1);
    expect((await ctx.app.api('GET', '/v1/cards/EKCRACE002/balance')).body.posted).toBe('25.00');
  });

  it('should let an operator reverse a parked load only once no earlier send can still land, and post it at once', async () => {
    const load = await loadInReview('EKCRACE003', '10.00');
    // The state right after a send whose answer was unknown: EnKash could still apply it for a while (the grace).
    await ctx.db.query(`UPDATE sync_jobs SET lookup_after = clock_timestamp() + interval '2 seconds' WHERE load_id = $1`, [load.id]);
    const early = await act(load.id, 'resolve', { outcome: 'reversed', reason: 'confirmed failed' });
    expect([early.status, early.body.error.code]).toEqual([409, 'load_in_flight']);
    expect(early.body.error.message).toContain('may still be applied');
    expect(Number(early.headers.get('retry-after'))).toBe(2);
    const reversed = await waitFor('the grace after the last send', async () => {
      const r = await act(load.id, 'resolve', { outcome: 'reversed', reason: 'confirmed failed' });
      return r.status === 409 && r.body.error.code === 'load_in_flight' ? null : r;
    });
    expect([reversed.status, reversed.body.status]).toEqual([200, 'reversed']);

    // EnKash answered success to a send after the worker gave up (a late answer): the load is applied, never reversed.
    const applied = await loadInReview('EKCRACE006', '6.00');
    await ctx.db.query(`UPDATE sync_jobs SET late_success_at = clock_timestamp() WHERE load_id = $1`, [applied.id]);
    const refused = await act(applied.id, 'resolve', { outcome: 'reversed', reason: 'operator is wrong' });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'invalid_state']);
    expect(refused.body.error.message).toContain('was applied at EnKash');

    const other = await loadInReview('EKCRACE004', '11.00');

    await ctx.db.query(`UPDATE sync_jobs SET lookup_after = clock_timestamp() + interval '1 minute' WHERE load_id = $1`, [other.id]);
    // An id in upper case is the same load (uuids are case-insensitive).
    const posted = await act(other.id.toUpperCase(), 'resolve', { outcome: 'posted', reason: 'EnKash support shows it applied' });
    expect([posted.status, posted.body.status]).toEqual([200, 'posted']);
  });

  it('should settle a load once when two operators resolve it at once with opposite outcomes', async () => {
    const load = await loadInReview('EKCRACE007', '3.00');
    await ctx.db.query(`UPDATE sync_jobs SET lookup_after = NULL WHERE load_id = $1`, [load.id]); // no send can land any more
    const answers = await Promise.all(['posted', 'reversed'].map((outcome) => act(load.id, 'resolve', { outcome, reason: 'two people' })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const loser = answers.find((a) => a.status === 409)!;
    expect(loser.body.error.code).toBe('invalid_state');
    const winner = answers.find((a) => a.status === 200)!;
    const settled = (await ctx.app.api('GET', `/v1/card-loads/${load.id}`)).body;
    expect(settled.status).toBe(winner.body.status);
  });

  it('should answer a requeue of a load that is not in review with invalid_state, whatever its job does', async () => {
    ctx.sim.state.setConfig({ latencyMs: SLOW_MS });
    const load = await createLoad(ctx.app, 'EKCRACE005', '5.00');
    await waitFor('the send to reach EnKash', async () => requestsFor(load.reference, 'balance') > 0);
    for (const r of [await act(load.id, 'requeue'), await act(load.id, 'resolve', { outcome: 'posted', reason: 'x' })]) {
      expect([r.status, r.body.error.code]).toEqual([409, 'invalid_state']);
    }
    await waitForStatus(ctx.app, load.id, ['posted']);
    expect(ctx.sim.state.appliedCount(load.reference)).toBe(1);
  });
});
