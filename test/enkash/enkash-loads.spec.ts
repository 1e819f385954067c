import { EnKashLookupResult, EnKashOutcome } from '../../src/enkash/enkash.types';
import { LookupShape } from '../../src/enkash-simulator/simulator-config';
import { captureLogs, CARD, makeClient, newReference, OTHER_CARD, sleep, useSimulator } from './harness';

captureLogs();

const matchesOf = (o: EnKashOutcome<EnKashLookupResult>) => {
  if (o.kind !== 'succeeded') throw new Error(`lookup ${o.kind}: ${o.message}`);
  return o.value.matches;
};

describe('EnKashClient loads, lookups and balances', () => {
  const ctx = useSimulator({ client: true });

  const load = (amountMinor: bigint, reference = newReference(), c = ctx.client) =>
    c.loadCard({ reference, enKashCardId: CARD, amountMinor });
  const recorded = (ref: string) => ctx.sim.state.records().find((r) => r.pgReferenceNumber === ref);

  it.each([
    [1n, '0.01'],
    [10n + 20n, '0.3'],
    [10n, '0.1'],
    [150_010n, '1500.1'],
    [9_999_999_999n, '99999999.99'],
  ])('should send %s paise as the JSON number %s, exactly', async (minor, literal) => {
    const ref = newReference();
    expect((await load(minor, ref)).kind).toBe('succeeded');
    expect(recorded(ref)).toMatchObject({ amountText: literal, amountMinor: minor });
  });

  it('should send every documented field of a load', async () => {
    const ref = newReference();
    const c = makeClient(ctx.sim, { loadType: 'ALLOCATE_FUND', transactionCode: 'ALLOCATION' });
    await c.loadCard({ reference: ref, enKashCardId: CARD, amountMinor: 500n, description: 'March', remarks: 'batch 42' });
    expect(recorded(ref)).toMatchObject({ type: 'ALLOCATE_FUND', transactionCode: 'ALLOCATION', enkashCardId: CARD, status: 'SUCCESS' });
  });

  it.each([false, true])('should round-trip loads, lookups and balances with encryption %s', async (encryption) => {
    ctx.sim.state.setConfig({ encryption });
    const c = makeClient(ctx.sim, { encryption });
    const ref = newReference();
    expect(await load(12_345n, ref, c)).toMatchObject({
      kind: 'succeeded',
      value: { payload: 'Funds allocated from Parent Account to Card by Admin successful' },
    });
    expect(matchesOf(await c.findLoadByReference(ref, { enKashCardId: CARD }))).toMatchObject([
      { status: 'success', amountMinor: 12_345n, rawStatus: 'SUCCESS' },
    ]);
    expect(await c.getCard(CARD)).toMatchObject({ kind: 'succeeded', value: { otbBalanceMinor: 12_345n } });
    expect(await c.getParentAccount()).toMatchObject({ kind: 'succeeded', value: { availableBalanceMinor: 10_000_000_000n - 12_345n } });
  });

  it('should read an encrypted response under the "response" key too', async () => {
    ctx.sim.state.setConfig({ encryption: true, encryptedResponseKey: 'response' });
    expect((await load(100n, newReference(), makeClient(ctx.sim, { encryption: true }))).kind).toBe('succeeded');
  });

  it.each<[LookupShape, 'code' | 'response_code']>([
    ['array', 'code'],
    ['content', 'code'],
    ['single', 'code'],
    ['array', 'response_code'],
    ['content', 'response_code'],
    ['single', 'response_code'],
  ])('should find a load by reference when the payload is %s and the envelope spells %s', async (lookupShape, envelope) => {
    const ref = newReference();
    await load(3_000n, ref);
    await load(4_000n);
    ctx.sim.state.setConfig({ lookupShape, envelope });
    expect(matchesOf(await ctx.client.findLoadByReference(ref, { enKashCardId: CARD }))).toEqual([
      expect.objectContaining({ status: 'success', amountMinor: 3_000n }),
    ]);
    const absent = await ctx.client.findLoadByReference(newReference(), { enKashCardId: CARD });
    // A single-record shape answers a missing reference with payload null: that says nothing, so it is unknown.
    if (lookupShape === 'single') expect(absent).toMatchObject({ kind: 'unknown', reason: 'undecodable-payload' });
    else expect(matchesOf(absent)).toEqual([]);
  });

  it('should read a code 1 "No records found" as absent, and other refusals as rejections', async () => {
    ctx.sim.state.setConfig({ lookupNotFound: 'code-1' });
    expect(await ctx.client.findLoadByReference(newReference(), { enKashCardId: CARD })).toMatchObject({
      kind: 'succeeded',
      code: '1',
      value: { matches: [] },
    });
    expect(await ctx.client.findLoadByReference(newReference(), { enKashCardId: CARD, companyId: 'CEKWRONG00' })).toMatchObject({
      kind: 'rejected',
      code: '1',
    });
  });

  it('should not see a load until the lookup lag has passed', async () => {
    ctx.sim.state.setConfig({ lookupLagMs: 200 });
    const ref = newReference();
    await load(700n, ref);
    expect(matchesOf(await ctx.client.findLoadByReference(ref, { enKashCardId: CARD }))).toEqual([]);
    await sleep(250);
    expect(matchesOf(await ctx.client.findLoadByReference(ref, { enKashCardId: CARD }))).toHaveLength(1);
  });

  it('should find a load whose response timed out after it was applied', async () => {
    const ref = newReference();
    ctx.sim.state.injectFault({ fault: 'timeout-after-apply', reference: ref });
    expect((await load(900n, ref)).kind).toBe('unknown');
    expect(matchesOf(await ctx.client.findLoadByReference(ref, { enKashCardId: CARD }))).toMatchObject([
      { status: 'success', amountMinor: 900n },
    ]);
  });

  it('should apply a repeated reference again in apply-again mode (the worst case)', async () => {
    const ref = newReference();
    expect((await load(100n, ref)).kind).toBe('succeeded');
    expect((await load(100n, ref)).kind).toBe('succeeded');
    expect(ctx.sim.state.appliedCount(ref)).toBe(2);
    expect(ctx.sim.state.cardBalanceMinor(CARD)).toBe(200n);
    expect(matchesOf(await ctx.client.findLoadByReference(ref, { enKashCardId: CARD }))).toHaveLength(2);
  });

  it('should reject a repeated reference in reject mode without applying', async () => {
    ctx.sim.state.setConfig({ duplicateMode: 'reject' });
    const ref = newReference();
    await load(100n, ref);
    expect(await load(100n, ref)).toMatchObject({ kind: 'rejected', httpStatus: 200, code: '1', message: 'Duplicate reference number' });
    expect(ctx.sim.state.appliedCount(ref)).toBe(1);
  });

  it('should replay the original success in replay mode without applying', async () => {
    ctx.sim.state.setConfig({ duplicateMode: 'replay' });
    const ref = newReference();
    await load(100n, ref);
    expect((await load(100n, ref)).kind).toBe('succeeded');
    expect(ctx.sim.state.appliedCount(ref)).toBe(1);
    expect(ctx.sim.state.cardBalanceMinor(CARD)).toBe(100n);
  });

  it('should report reversed and planted extra applications in a lookup', async () => {
    const ref = newReference();
    await load(250n, ref);
    ctx.sim.state.plantApplied(ref, CARD, 250n);
    ctx.sim.state.setRecordStatus(ref, 'REVERSED');
    const matches = matchesOf(await ctx.client.findLoadByReference(ref, { enKashCardId: CARD }));
    expect(matches.map((m) => [m.status, m.rawStatus, m.amountMinor])).toEqual([
      ['reversed', 'REVERSED', 250n],
      ['reversed', 'REVERSED', 250n],
    ]);
    expect(ctx.sim.state.cardBalanceMinor(CARD)).toBe(0n);
  });

  it('should only match the card it asks about', async () => {
    const ref = newReference();
    await load(100n, ref);
    expect(matchesOf(await ctx.client.findLoadByReference(ref, { enKashCardId: OTHER_CARD }))).toEqual([]);
  });

  it('should read balances with paise intact', async () => {
    ctx.sim.state.setConfig({ parentBalanceMinor: 100_000_010n });
    await load(30n);
    expect(await ctx.client.getParentAccount()).toMatchObject({ kind: 'succeeded', value: { availableBalanceMinor: 99_999_980n } });
    expect(await ctx.client.getCard(CARD)).toMatchObject({ kind: 'succeeded', value: { otbBalanceMinor: 30n } });
    expect(await ctx.client.getCard(OTHER_CARD)).toMatchObject({ kind: 'succeeded', value: { otbBalanceMinor: 0n } });
  });
});
