import { performance } from 'node:perf_hooks';
import { LateEnKashAnswer } from '../../src/enkash/enkash.client';
import { EnKashTransport } from '../../src/enkash/enkash.transport';
import { captureLogs, CARD, makeClient, newReference, sleep, useSimulator } from './harness';

captureLogs();

/**
 * One EnKash exchange (token fetch, the call, after a 401 a fresh token and the call again) ends by one deadline,
 * and nothing is sent after it (docs/design.md, "Leases and fences"); an answer that comes after the client gave up
 * is heard, with how late it was.
 */
describe('EnKashClient exchange deadline and late answers', () => {
  const ctx = useSimulator();

  it('should end a slow token + 401 + token + call exchange by its deadline, sending nothing after it', async () => {
    // Each request takes 400 ms; a timeout of 1,000 ms would let the four requests of this exchange run 1.6 s.
    const c = makeClient(ctx.sim, { timeoutMs: 1000 });
    ctx.sim.state.setConfig({ latencyMs: 400 });
    ctx.sim.state.injectFault({ fault: 'http-401', endpoint: 'balance' });
    const reference = newReference();
    const started = performance.now();
    const deadlineMono = started + 1000;
    const wallDeadline = Date.now() + 1000;
    const outcome = await c.loadCard({ reference, enKashCardId: CARD, amountMinor: 100n }, { deadlineMono });
    const tookMs = performance.now() - started;
    // Without the deadline this exchange runs 1.6 s; the slack is for a busy machine, not for the rule.
    expect(tookMs).toBeLessThan(1000 + 400);
    // Token (400) + 401 (400) + the fresh token would end at 1,200 ms: the call after it is never made.
    expect(outcome).toMatchObject({ kind: 'not_sent', reason: 'deadline' });
    await sleep(500);
    const sends = ctx.sim.state.requestsFor(reference);
    expect(sends).toHaveLength(1); // the one that got the 401
    expect(sends.every((r) => r.arrivedAtMs <= wallDeadline + 50)).toBe(true);
    expect(ctx.sim.state.appliedCount(reference)).toBe(0);
  });

  it('should cut the call to the time left, so a slow EnKash answers as a timeout by the deadline', async () => {
    const c = makeClient(ctx.sim, { timeoutMs: 5000 });
    await c.getParentAccount(); // token cached
    ctx.sim.state.setConfig({ latencyMs: 800 });
    const started = performance.now();
    const outcome = await c.loadCard({ reference: newReference(), enKashCardId: CARD, amountMinor: 100n }, { deadlineMono: started + 300 });
    expect(performance.now() - started).toBeLessThan(700); // EnKash answers at 800 ms: the cut came first
    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'timeout' });
  });

  it('should refuse to start a call with no time left', async () => {
    const c = makeClient(ctx.sim, { timeoutMs: 5000 });
    await c.getParentAccount();
    const reference = newReference();
    const outcome = await c.loadCard({ reference, enKashCardId: CARD, amountMinor: 100n }, { deadlineMono: performance.now() + 10 });
    expect(outcome.kind).toBe('not_sent');
    expect(ctx.sim.state.requestsFor(reference)).toEqual([]);
  });

  it.each([
    ['a fresh connection', false],
    ['a keep-alive socket', true],
  ])('should not write a request whose process stalled past its deadline before it was written (%s)', async (_name, warm) => {
    const transport = new EnKashTransport(5000);
    const url = `${ctx.sim.url}/api/v0/partner/enKashCard/balance`;
    const body = (reference: string) => JSON.stringify({ uniqueReferenceNumber: reference, enKashCardId: CARD, amount: 1 });
    try {
      if (warm) await transport.post(url, body(newReference()), { 'content-type': 'application/json' }); // leaves a keep-alive socket
      const reference = newReference();
      const pending = transport.post(url, body(reference), { 'content-type': 'application/json' }, performance.now() + 100);
      // A paused process (SIGSTOP, a stalled VM) right after the request was started: nothing runs for 300 ms,
      // then the event loop goes on where it was, I/O callbacks (socket assignment, connect) before timers.
      const until = performance.now() + 300;
      while (performance.now() < until) {
        /* stalled */
      }
      expect(await pending).toMatchObject({ kind: 'not-sent' });
      await sleep(200);
      expect(ctx.sim.state.requestsFor(reference)).toEqual([]);
    } finally {
      transport.close();
    }
  });

  it('should hear a load answered after the client gave up on it, and how late', async () => {
    const c = makeClient(ctx.sim, { timeoutMs: 300 }, { lateWatchMs: 2000 });
    const late: LateEnKashAnswer[] = [];
    c.onLateAnswer((a) => late.push(a));
    await c.getParentAccount();
    ctx.sim.state.setConfig({ latencyMs: 500 }); // switched before the call: it answers 200 ms after the timeout
    const reference = newReference();
    const outcome = await c.loadCard({ reference, enKashCardId: CARD, amountMinor: 100n });
    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'timeout' });
    await sleep(500);
    expect(late).toEqual([expect.objectContaining({ op: 'load', reference, outcome: expect.objectContaining({ kind: 'succeeded' }) })]);
    // EnKash answered about 200 ms after the give-up; a busy machine fires the give-up late, so only its order counts.
    expect(late[0].latenessMs).toBeGreaterThan(0);
    expect(late[0].latenessMs).toBeLessThan(600);
    expect(ctx.sim.state.appliedCount(reference)).toBe(1);
  });
});
