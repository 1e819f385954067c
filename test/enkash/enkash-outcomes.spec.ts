import { FaultKind } from '../../src/enkash-simulator/simulator-config';
import { captureLogs, CARD, makeClient, newReference, useSimulator } from './harness';

captureLogs();

describe('EnKashClient outcomes against the simulator', () => {
  const ctx = useSimulator({ client: true });

  const load = (reference = newReference(), amountMinor = 10_000n) => ctx.client.loadCard({ reference, enKashCardId: CARD, amountMinor });

  it('should report success with the exact EnKash text and apply the load once', async () => {
    const ref = newReference();
    const out = await load(ref);
    expect(out).toMatchObject({
      kind: 'succeeded',
      httpStatus: 200,
      code: '0',
      value: { payload: 'Funds allocated from Parent Account to Card by Admin successful' },
    });
    expect(out.durationMs).toBeGreaterThanOrEqual(0);
    expect(ctx.sim.state.appliedCount(ref)).toBe(1);
    expect(ctx.sim.state.cardBalanceMinor(CARD)).toBe(10_000n);
  });

  const unknownCases: Array<[FaultKind, boolean, string, number | null]> = [
    ['timeout-before-apply', false, 'timeout', null],
    ['timeout-after-apply', true, 'timeout', null],
    ['reset', false, 'reset', null],
    ['reset-after-apply', true, 'reset', null],
    ['http-500', false, 'http-500', 500],
    ['http-502', false, 'http-502', 502],
    ['http-503', false, 'http-503', 503],
    ['html-502', false, 'http-502', 502],
    ['http-429', false, 'http-429', 429],
    ['no-code', false, 'no-code', 200],
  ];
  it.each(unknownCases)('should call %s unknown (applied at EnKash: %s)', async (fault, applied, reason, httpStatus) => {
    const ref = newReference();
    ctx.sim.state.injectFault({ fault, reference: ref });
    const out = await load(ref);
    expect(out).toMatchObject({ kind: 'unknown', reason, httpStatus });
    expect(ctx.sim.state.appliedCount(ref)).toBe(applied ? 1 : 0);
  });

  it('should call a code-less 200 unknown also when the load was applied', async () => {
    const ref = newReference();
    ctx.sim.state.injectFault({ fault: 'no-code', reference: ref, applied: true });
    expect(await load(ref)).toMatchObject({ kind: 'unknown', reason: 'no-code' });
    expect(ctx.sim.state.appliedCount(ref)).toBe(1);
  });

  it('should call a 502 that came after applying unknown, never rejected', async () => {
    const ref = newReference();
    ctx.sim.state.injectFault({ fault: 'http-502', reference: ref, applied: true });
    expect(await load(ref)).toMatchObject({ kind: 'unknown', httpStatus: 502 });
    expect(ctx.sim.state.appliedCount(ref)).toBe(1);
  });

  it('should bound a hanging call by timeoutMs', async () => {
    ctx.sim.state.injectFault({ fault: 'timeout-before-apply', hangMs: 5000 });
    const started = Date.now();
    const out = await load();
    expect(out.kind).toBe('unknown');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it.each([
    ['http-403', 'forbidden', 403],
    ['http-404', 'not-found', 404],
  ] as const)('should call %s systemic', async (fault, reason, httpStatus) => {
    const ref = newReference();
    ctx.sim.state.injectFault({ fault, reference: ref });
    expect(await load(ref)).toMatchObject({ kind: 'systemic', reason, httpStatus });
    expect(ctx.sim.state.appliedCount(ref)).toBe(0);
  });

  it('should call a wrong partnerId systemic', async () => {
    const other = makeClient(ctx.sim, { partnerId: 'CRWRONG00' });
    expect(await other.loadCard({ reference: newReference(), enKashCardId: CARD, amountMinor: 100n })).toMatchObject({
      kind: 'systemic',
      reason: 'forbidden',
      httpStatus: 403,
    });
  });

  it('should call an underfunded parent a rejection (HTTP 200, code 1) and apply nothing', async () => {
    ctx.sim.state.setConfig({ parentBalanceMinor: 5_000n });
    const ref = newReference();
    const out = await load(ref, 5_001n);
    expect(out).toMatchObject({ kind: 'rejected', httpStatus: 200, code: '1' });
    expect(out.kind === 'rejected' && out.message).toContain('Insufficient balance in card account');
    expect(ctx.sim.state.appliedCount(ref)).toBe(0);
    expect(ctx.sim.state.parentBalanceMinor).toBe(5_000n);
  });

  it('should call a 400/422 from validation a rejection', async () => {
    expect(await ctx.client.loadCard({ reference: newReference(), enKashCardId: '', amountMinor: 100n })).toMatchObject({
      kind: 'rejected',
      httpStatus: 400,
      code: '1',
    });
    const other = makeClient(ctx.sim, { companyId: 'CEKWRONG00' });
    expect(await other.loadCard({ reference: newReference(), enKashCardId: CARD, amountMinor: 100n })).toMatchObject({
      kind: 'rejected',
      httpStatus: 200,
      message: 'Invalid companyId',
    });
  });

  it('should refuse to send a non-positive amount (a bug, not an EnKash outcome)', async () => {
    await expect(ctx.client.loadCard({ reference: newReference(), enKashCardId: CARD, amountMinor: 0n })).rejects.toThrow(
      /positive bigint/,
    );
    expect(ctx.sim.state.requestCounts.balance).toBe(0);
  });

  it('should read the response_code spelling and a code sent as a string', async () => {
    ctx.sim.state.setConfig({ envelope: 'response_code', codeAsString: true });
    expect(await load()).toMatchObject({
      kind: 'succeeded',
      code: '0',
      message: 'Success: Funds allocated from Parent Account to Card by Admin successful',
    });
    ctx.sim.state.setConfig({ parentBalanceMinor: 0n });
    expect(await load()).toMatchObject({ kind: 'rejected', code: '1' });
  });

  it('should call a 422 "Invalid encrypted request" systemic, not a rejection of the load', async () => {
    ctx.sim.state.setConfig({ encryption: true });
    const ref = newReference();
    const out = await load(ref);
    expect(out).toMatchObject({ kind: 'systemic', reason: 'encryption', httpStatus: 422, message: 'Invalid encrypted request' });
    expect(ctx.sim.state.appliedCount(ref)).toBe(0);
  });

  it('should call a response it cannot decrypt systemic', async () => {
    ctx.sim.state.setConfig({ encryption: true });
    const sealed = makeClient(ctx.sim, { encryption: true });
    const ref = newReference();
    ctx.sim.state.injectFault({ fault: 'garbled-response', reference: ref, applied: true });
    expect(await sealed.loadCard({ reference: ref, enKashCardId: CARD, amountMinor: 100n })).toMatchObject({
      kind: 'systemic',
      reason: 'encryption',
      httpStatus: 200,
    });
  });

  it('should call a refused connection unknown', async () => {
    const dead = makeClient(ctx.sim, { baseUrl: 'http://127.0.0.1:1', tokenUrl: `${ctx.sim.url}/oauth/token` });
    expect(await dead.loadCard({ reference: newReference(), enKashCardId: CARD, amountMinor: 100n })).toMatchObject({
      kind: 'unknown',
      reason: 'connection-refused',
    });
  });

  it('should classify faults on the lookup too, and never call an unknown lookup "absent"', async () => {
    const ref = newReference();
    ctx.sim.state.injectFault({ fault: 'html-502', endpoint: 'transaction/all' });
    expect(await ctx.client.findLoadByReference(ref, { enKashCardId: CARD })).toMatchObject({ kind: 'unknown', httpStatus: 502 });
    ctx.sim.state.injectFault({ fault: 'reset', endpoint: 'transaction/all' });
    expect(await ctx.client.findLoadByReference(ref, { enKashCardId: CARD })).toMatchObject({ kind: 'unknown', reason: 'reset' });
  });
});
