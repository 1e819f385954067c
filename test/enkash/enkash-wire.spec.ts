import { decodeCard, decodeLookup, decodeParentAccount, mapStatus } from '../../src/enkash/enkash.decode';
import { EnKashTokenCache, TokenFetch } from '../../src/enkash/enkash.token';
import { parseJsonExact, readEnvelope, rupeesToMinor } from '../../src/enkash/enkash.wire';

describe('EnKash wire helpers', () => {
  it.each<[unknown, bigint | null]>([
    [0.3, 30n],
    [0.1 + 0.2, null],
    [1500.1, 150_010n],
    [99999999.99, 9_999_999_999n],
    ['100.500', 10_050n],
    ['100.505', null],
    ['-12.5', -1_250n],
    [7, 700n],
    ['1e3', null],
    ['', null],
    [null, null],
    [Number.NaN, null],
    ['12345678901234567.89', 1_234_567_890_123_456_789n],
  ])('should read %p rupees as %p paise', (input, expected) => {
    expect(rupeesToMinor(input)).toBe(expected);
  });

  it('should keep numbers a double would round as their literal text', () => {
    expect(parseJsonExact('{"a":12345678901234567.89,"b":0.30,"c":1}')).toEqual({ a: '12345678901234567.89', b: 0.3, c: 1 });
  });

  it('should read both envelope spellings and string codes', () => {
    expect(readEnvelope({ code: 0, message: 'Success', payload: 'x' })).toEqual({ code: '0', message: 'Success', payload: 'x' });
    expect(readEnvelope({ response_code: '1', response_message: 'No', payload: null })).toEqual({
      code: '1',
      message: 'No',
      payload: null,
    });
    expect(readEnvelope({ message: 'OK' }).code).toBeNull();
    expect(readEnvelope({ code: 0, message: 'Success', data: [1] }).payload).toEqual([1]);
    expect(readEnvelope({ code: 0, message: 'Success', payload: null, result: { content: [] } }).payload).toEqual({ content: [] });
  });

  it('should map statuses tolerantly', () => {
    expect(['Successful', 'settled', 'DECLINED', 'refunded', 'PENDING', null].map((s) => mapStatus(s))).toEqual([
      'success',
      'success',
      'failed',
      'reversed',
      'other',
      'other',
    ]);
  });

  describe('lookup decoding', () => {
    const rec = (ref: string | undefined, extra: Record<string, unknown> = {}) => ({
      ...(ref ? { pgReferenceNumber: ref } : {}),
      status: 'SUCCESS',
      principalAmount: 1.5,
      ...extra,
    });
    const refs = (payload: unknown) => {
      const d = decodeLookup('R1', payload);
      return d.ok ? d.value.matches.map((m) => m.amountMinor) : d.message;
    };

    it.each<[string, unknown]>([
      ['an array', [rec('R1'), rec('R2')]],
      ['content', { content: [rec('R1'), rec('R2')] }],
      ['transactions', { transactions: [rec('R1')] }],
      ['records', { records: [rec('R1')] }],
      ['data.content', { data: { content: [rec('R1')] } }],
      ['a single object', rec('R1')],
    ])('should find the reference in %s', (_name, payload) => {
      expect(refs(payload)).toEqual([150n]);
    });

    it('should call absent only an answer that says so: an empty list, or a "no records" text', () => {
      for (const p of [[], { content: [] }, { content: [], totalElements: 0, totalPages: 0 }, 'No records found'])
        expect(refs(p)).toEqual([]);
    });

    it.each<[string, unknown, RegExp]>([
      ['no payload', undefined, /without any records/],
      ['a null payload', null, /without any records/],
      ['records of other loads only (the filter was ignored)', [rec('R2'), rec('R3')], /none of them ours/],
      ['spends without any reference', [rec(undefined)], /none of them ours/],
      ['our reference under a field we do not read', [{ referenceNo: 'R1', status: 'SUCCESS' }], /field this client does not read/],
      [
        'our reference inside another text',
        { content: [{ pgReferenceNumber: 'X', narration: 'load R1' }] },
        /field this client does not read/,
      ],
      ['an empty page of a longer list', { content: [], totalElements: 7, totalPages: 4, last: false }, /longer list/],
      ['an empty page whose paging sits deeper', { data: { content: [], totalElements: 3 } }, /longer list/],
      ['an empty page with a paging object beside it', { content: [], page: { totalElements: 5 } }, /longer list/],
      ['a list of ids instead of records', ['ECT123', 'ECT456'], /none of them ours/],
      ['a list holding nulls', { content: [null] }, /none of them ours/],
      ['an empty list beside a list we do not read', { content: [], transactionList: [{ txnRef: 'X' }] }, /none of them ours/],
      ['our reference in lower case under another field', [{ txnRef: 'r1' }], /field this client does not read/],
      ['records of other loads', [rec('R2')], /none of them ours/],
      ['an unknown object', { whatever: 1 }, /shape/],
      ['an unknown text', 'Something else', /shape/],
    ])('should never call %s absent', (_name, payload, why) => {
      expect(refs(payload)).toMatch(why);
    });

    it('should find the reference beside unrelated spends that carry none', () => {
      expect(refs([rec(undefined), rec('R1', { amount: '2.00', principalAmount: undefined })])).toEqual([200n]);
    });

    it('should read balances from objects and lists', () => {
      expect(decodeParentAccount({ availableBalance: 10.5 })).toMatchObject({ ok: true, value: { availableBalanceMinor: 1050n } });
      expect(
        decodeCard('EKC1', [
          { enKashCardId: 'EKC0', otbBalance: 1 },
          { enKashCardId: 'EKC1', otbBalance: '2.25' },
        ]),
      ).toMatchObject({ ok: true, value: { otbBalanceMinor: 225n } });
      expect(decodeCard('EKC1', { content: [{ enkashCardId: 'EKC1', otbBalance: 3 }] })).toMatchObject({
        ok: true,
        value: { otbBalanceMinor: 300n },
      });
      expect(decodeCard('EKC1', 'nothing').ok).toBe(false);
    });
  });

  describe(EnKashTokenCache.name, () => {
    let nowMs = 0;
    let answers: TokenFetch[] = [];
    let fetches = 0;
    const cache = () =>
      new EnKashTokenCache(
        async () => {
          fetches += 1;
          return answers.shift() ?? { kind: 'unavailable', httpStatus: null, message: 'no more answers' };
        },
        { loginCooldownMs: 1000, now: () => nowMs },
      );
    beforeEach(() => {
      nowMs = 0;
      fetches = 0;
    });

    it('should refresh at min(60 s, 10 %) before expiry', async () => {
      answers = [
        { kind: 'issued', token: 'a', expiresInSeconds: 86_399 },
        { kind: 'issued', token: 'b', expiresInSeconds: 300 },
        { kind: 'issued', token: 'c', expiresInSeconds: 300 },
      ];
      const c = cache();
      expect(await c.get()).toEqual({ ok: true, token: 'a' });
      nowMs = 86_399_000 - 60_001;
      expect(await c.get()).toEqual({ ok: true, token: 'a' });
      nowMs = 86_399_000 - 60_000;
      expect(await c.get()).toEqual({ ok: true, token: 'b' });
      nowMs += 269_999;
      expect(await c.get()).toEqual({ ok: true, token: 'b' });
      nowMs += 1;
      expect(await c.get()).toEqual({ ok: true, token: 'c' });
      expect(fetches).toBe(3);
    });

    it('should keep using a still-valid token when the refresh fails', async () => {
      answers = [
        { kind: 'issued', token: 'a', expiresInSeconds: 100 },
        { kind: 'unavailable', httpStatus: 503, message: 'down' },
      ];
      const c = cache();
      await c.get();
      nowMs = 95_000;
      expect(await c.get()).toEqual({ ok: true, token: 'a' });
      nowMs = 100_000;
      expect(await c.get()).toMatchObject({ ok: false, reason: 'token-unavailable' });
    });

    it('should wait out the cool-down after one refusal and stop after two until reset', async () => {
      answers = [
        { kind: 'refused', httpStatus: 401, message: 'bad' },
        { kind: 'refused', httpStatus: 401, message: 'bad' },
        { kind: 'issued', token: 't', expiresInSeconds: 60 },
      ];
      const c = cache();
      expect(await c.get()).toMatchObject({ ok: false, reason: 'login-failed' });
      expect(await c.get()).toMatchObject({ ok: false, reason: 'login-suspended' });
      nowMs = 1000;
      expect(await c.get()).toMatchObject({ ok: false, reason: 'login-failed' });
      nowMs = 10_000_000;
      expect(await c.get()).toMatchObject({ ok: false, reason: 'login-suspended' });
      expect(fetches).toBe(2);
      c.resetAuthFailure();
      expect(await c.get()).toEqual({ ok: true, token: 't' });
    });
  });
});
