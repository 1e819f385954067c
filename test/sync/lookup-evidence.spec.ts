import { LookupShape } from '../../src/enkash-simulator/simulator-config';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { TestAppContext } from '../support/app';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { createLoad, useSyncApp, waitFor, waitForStatus } from './sync-harness';

/**
 * What the worker may conclude from EnKash after an unknown outcome (docs/design.md, "Lookups"): only an answer
 * that positively says "no such reference" allows a re-send, and an answer EnKash gives after the worker gave up
 * proves the load applied. The simulator applies a repeated reference again, so a wrong "absent" shows as money.
 */
type Ctx = TestAppContext & { readonly sim: RunningSimulator };

function hooks(ctx: Ctx): { ops: () => string } {
  let ops = '';
  beforeAll(async () => {
    ops = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'ops', scopes: ['ops:write'] } })).body.key;
  });
  afterEach(async () => {
    ctx.sim.state.clearFaults();
    ctx.sim.state.setConfig({ latencyMs: 0, lookupShape: 'array', lookupLagMs: 50 });
    expectNoViolations(await ledgerViolations(ctx.db));
  });
  return { ops: () => ops };
}

const sendsOf = (sim: RunningSimulator, reference: string) => sim.state.requestsFor(reference).filter((r) => r.endpoint === 'balance');

describe('sync worker: lookups EnKash answers in a shape that does not say "absent"', () => {
  const ctx = useSyncApp({ SYNC_MAX_ATTEMPTS: '3' });
  const { ops } = hooks(ctx);

  async function requeueReadable(id: string) {
    ctx.sim.state.setConfig({ lookupShape: 'array' });
    expect((await ctx.app.api('POST', `/v1/card-loads/${id}/requeue`, { key: ops() })).status).toBe(200);
    await waitForStatus(ctx.app, id, ['posted']);
  }

  it.each<LookupShape>(['null-payload', 'no-payload', 'renamed-reference', 'unfiltered-page'])(
    'should not send again a load EnKash applied when its lookup answers %s: review, then posted once readable',
    async (shape) => {
      ctx.sim.state.setConfig({ lookupShape: shape });
      const load = await createLoad(ctx.app, 'EKCSHAPE01', '9.00');
      ctx.sim.state.injectFault({ fault: 'timeout-after-apply', reference: load.reference });
      await waitFor('EnKash to apply the load', async () => ctx.sim.state.appliedCount(load.reference) === 1);
      // Two later loads on the card push ours to the second page of an unfiltered, newest-first list.
      for (const n of [1, 2]) ctx.sim.state.plantApplied(`OTHER-${shape}-${n}`, 'EKCSHAPE01', 100n);
      await waitForStatus(ctx.app, load.id, ['needs_review'], 30_000);
      expect(sendsOf(ctx.sim, load.reference)).toHaveLength(1);
      await requeueReadable(load.id);
      expect(ctx.sim.state.appliedCount(load.reference)).toBe(1);
    },
  );

  it.each<LookupShape>(['unfiltered-array', 'single', 'unfiltered-page'])(
    'should not send again a load EnKash did not apply when its lookup answers %s: review, then sent once when readable',
    async (shape) => {
      ctx.sim.state.setConfig({ lookupShape: shape });
      // Other loads on the card, so an unfiltered answer lists records, none of them ours.
      for (const n of [1, 2]) ctx.sim.state.plantApplied(`OTHER-${shape}-before-${n}`, 'EKCSHAPE02', 100n);
      const load = await createLoad(ctx.app, 'EKCSHAPE02', '4.00');
      ctx.sim.state.injectFault({ fault: 'timeout-before-apply', reference: load.reference });
      await waitForStatus(ctx.app, load.id, ['needs_review'], 30_000);
      expect(sendsOf(ctx.sim, load.reference)).toHaveLength(1);
      expect(ctx.sim.state.appliedCount(load.reference)).toBe(0);
      await requeueReadable(load.id);
      expect(ctx.sim.state.appliedCount(load.reference)).toBe(1);
    },
  );

  it.each<LookupShape>(['data-key', 'result-key'])('should read records under a top-level %s and post the load once', async (shape) => {
    ctx.sim.state.setConfig({ lookupShape: shape });
    const load = await createLoad(ctx.app, 'EKCSHAPE03', '3.00');
    ctx.sim.state.injectFault({ fault: 'timeout-after-apply', reference: load.reference });
    await waitForStatus(ctx.app, load.id, ['posted']);
    expect(ctx.sim.state.appliedCount(load.reference)).toBe(1);
  });
});

describe('sync worker: an answer after the worker gave up', () => {
  // EnKash takes 600 ms; the worker gives up at 400 ms and looks up 500 ms later, while the record is not visible yet.
  const ctx = useSyncApp({ SYNC_LOOKUP_GRACE_MS: '500' });
  hooks(ctx);

  it('should post, never re-send, a load whose send EnKash answered with success after the worker gave up', async () => {
    await waitForStatus(ctx.app, (await createLoad(ctx.app, 'EKCLATE001', '1.00')).id, ['posted']); // a token in hand
    ctx.sim.state.setConfig({ latencyMs: 600, lookupLagMs: 3000 });
    const load = await createLoad(ctx.app, 'EKCLATE001', '12.00');
    await waitFor('the send to reach EnKash', async () => sendsOf(ctx.sim, load.reference).length > 0);
    ctx.sim.state.setConfig({ latencyMs: 0 }); // switched while the call is in flight: the lookup is fast
    const done = await waitForStatus(ctx.app, load.id, ['posted']);
    expect(ctx.sim.state.appliedCount(load.reference)).toBe(1);
    const types = done.events.map((e: { type: string; outcome: string }) => `${e.type}:${e.outcome}`);
    expect(types).toEqual(expect.arrayContaining(['enkash_send:unknown', 'enkash_late_answer:succeeded', 'settled:posted']));
    expect(types).not.toContain('enkash_send:succeeded');
    expect((await ctx.app.api('GET', '/metrics')).text).toMatch(/card_ledger_enkash_late_answer_seconds_count 1/);
  });
});
