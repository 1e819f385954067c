import { serviceActor } from '../../src/audit-trail/audit-trail';
import { ApiKeysService } from '../../src/auth/api-keys.service';
import { startTestApp, TestApp, useTestApp } from '../support/app';

const LOAD = { enKashCardId: 'EKCMB7KAEW', amount: '10.00' };

describe('HTTP protections', () => {
  const ctx = useTestApp({ db: false });

  it('should send security headers on API answers and on the docs', async () => {
    for (const [path, key] of [
      ['/v1/card-loads', undefined],
      ['/docs', null],
      ['/health/live', null],
    ] as const) {
      const res = await ctx.app.api('GET', path, { key });
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('should answer 413 payload_too_large and 415 unsupported_media_type in the error shape, without writing anything', async () => {
    const big = await ctx.app.api('POST', '/v1/card-loads', {
      body: { ...LOAD, description: 'x'.repeat(1_100_000) },
      headers: { 'idempotency-key': 'big' },
    });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
    const form = await ctx.app.api('POST', '/v1/card-loads', {
      rawBody: 'enKashCardId=EKCMB7KAEW',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'form' },
    });
    expect(form.status).toBe(415);
    expect(form.body).toEqual({ error: { code: 'unsupported_media_type', message: expect.any(String) } });
    const [{ n }] = await ctx.app.ds.query(`SELECT count(*)::int AS n FROM card_loads`);
    expect(n).toBe(0);
  });

  it('should never put a stack trace or an internal path in an error answer', async () => {
    const res = await ctx.app.api('POST', '/v1/card-loads', {
      rawBody: '{"enKashCardId": ',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'broken' },
    });
    expect(res.status).toBe(400);
    expect(res.text).not.toMatch(/\s+at \S+ \(|node_modules|\/src\/|\.[jt]s:\d+/);
  });
});

/** A fixed window is one minute in DB time: start each case away from its edge, so one window holds it all. */
async function awayFromWindowEdge(marginMs = 5_000): Promise<void> {
  const intoMinuteMs = Date.now() % 60_000;
  if (intoMinuteMs > 60_000 - marginMs) await new Promise((r) => setTimeout(r, 60_000 - intoMinuteMs + 200));
}

/**
 * With a limit of 200 a minute or more, an instance takes a hundredth of it from the shared row at a time and hands
 * those counts out without writing (http/postgres-rate-limit-store.ts): each count is still handed out once, so both
 * instances together admit at most the limit, and at least the limit less the counts the other instance holds.
 */
describe('rate limiting with counts taken ahead', () => {
  const LIMIT = 400; // 4 counts a write: 3 ahead
  let a: TestApp;
  let b: TestApp;
  const newKey = async (name: string) => (await a.app.get(ApiKeysService).create(name, ['ledger:read'], serviceActor('test'))).key;

  beforeAll(async () => {
    a = await startTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    b = await startTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) }, a.databaseUrl);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });
  const writes = (spy: jest.SpyInstance) => spy.mock.calls.filter(([sql]) => String(sql).includes('INSERT INTO rate_limit_hits')).length;

  it('should admit at most the limit across instances, one by one, with a write per four requests', async () => {
    await awayFromWindowEdge(10_000);
    const key = await newKey('ahead');
    const spy = jest.spyOn(a.ds, 'query');
    try {
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT + 40; i++) statuses.push((await (i % 2 ? b : a).api('GET', '/v1/card-loads', { key })).status);
      const admitted = statuses.filter((s) => s === 200).length;
      expect(admitted).toBeLessThanOrEqual(LIMIT);
      expect(admitted).toBeGreaterThanOrEqual(LIMIT - 3);
      expect(statuses.slice(admitted).every((s) => s === 429)).toBe(true);
      // a's share of the admitted requests took a write per four; once the window was full, a wrote no more.
      expect(writes(spy)).toBeLessThanOrEqual(Math.ceil(admitted / 2 / 4) + 2);
    } finally {
      spy.mockRestore();
    }
    expect((await a.api('GET', '/v1/card-loads', { key })).status).toBe(429);
    expect((await b.api('GET', '/v1/card-loads', { key })).status).toBe(429);
  });

  it('should refuse, not fail open, once a row reaches the end of its column’s range', async () => {
    await awayFromWindowEdge(10_000);
    const created = await a.app.get(ApiKeysService).create('capped', ['ledger:read'], serviceActor('test'));
    const bucket = `key:${created.id}`;
    expect((await b.api('GET', '/v1/card-loads', { key: created.key })).status).toBe(200); // b holds 3 counts ahead
    // As if a few hundred writes of counts ahead had gone past the limit (a limit of 10^9 takes 10^7 a write).
    await a.ds.query(`UPDATE rate_limit_hits SET hits = 2147483646 WHERE bucket = $1`, [bucket]);
    for (let i = 0; i < 2; i++) expect((await a.api('GET', '/v1/card-loads', { key: created.key })).status).toBe(429);
    const [row] = await a.ds.query(`SELECT max(hits) AS hits FROM rate_limit_hits WHERE bucket = $1`, [bucket]);
    expect(row.hits).toBe(2147483647); // capped at the column's range, and a refuses without writing again
  });

  it('should admit at most the limit when one key’s requests race on both instances', async () => {
    await awayFromWindowEdge(10_000);
    const key = await newKey('ahead-racing');
    const statuses = await Promise.all(
      Array.from({ length: LIMIT + 200 }, (_, i) => (i % 2 ? b : a).api('GET', '/v1/card-loads', { key }).then((r) => r.status)),
    );
    const admitted = statuses.filter((s) => s === 200).length;
    expect(admitted).toBeLessThanOrEqual(LIMIT);
    expect(admitted).toBeGreaterThanOrEqual(LIMIT - 3);
    expect(statuses.filter((s) => s === 429).length).toBe(LIMIT + 200 - admitted);
  });
});

describe('rate limiting', () => {
  const LIMIT = 5;
  let a: TestApp;
  let b: TestApp;
  const newKey = async (name: string) => (await a.app.get(ApiKeysService).create(name, ['ledger:read'], serviceActor('test'))).key;

  beforeAll(async () => {
    a = await startTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    b = await startTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) }, a.databaseUrl); // a second instance on the same database
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('should answer 429 rate_limited with Retry-After once a key has spent its minute, and count each key apart', async () => {
    await awayFromWindowEdge();
    const [k1, k2] = [await newKey('busy'), await newKey('calm')];
    for (let i = 0; i < LIMIT; i++) expect((await a.api('GET', '/v1/card-loads', { key: k1 })).status).toBe(200);
    const limited = await a.api('GET', '/v1/card-loads', { key: k1 });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: { code: 'rate_limited', message: expect.stringContaining('retry in') } });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
    expect((await a.api('GET', '/v1/card-loads', { key: k2 })).status).toBe(200);
  });

  it('should authenticate a request once, though both the rate limit and the guard need its caller', async () => {
    await awayFromWindowEdge();
    const key = await newKey('counted');
    const keys = a.app.get(ApiKeysService);
    const spy = jest.spyOn(keys, 'authenticate');
    try {
      expect((await a.api('GET', '/v1/card-loads', { key })).status).toBe(200);
      expect(spy.mock.calls).toEqual([[key]]);
    } finally {
      spy.mockRestore();
    }
  });

  it('should keep health and metrics out of the limit', async () => {
    await awayFromWindowEdge();
    for (let i = 0; i < LIMIT + 2; i++) {
      expect((await a.api('GET', '/health/live', { key: null })).status).toBe(200);
      expect((await a.api('GET', '/health/ready', { key: null })).status).toBe(200);
      expect((await a.api('GET', '/metrics', { key: null })).status).toBe(200);
    }
  });

  it('should count requests without a valid key by client address', async () => {
    await awayFromWindowEdge();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) {
      statuses.push((await a.api('GET', '/v1/card-loads', { key: i % 2 ? null : `ckl_made_up_key_number_${i}_0123456789` })).status);
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429]);
  });

  it('should share one count per key across instances (the counter lives in Postgres)', async () => {
    await awayFromWindowEdge();
    const key = await newKey('two-instances');
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push((await (i % 2 ? b : a).api('GET', '/v1/card-loads', { key })).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
    expect((await b.api('GET', '/v1/card-loads', { key })).status).toBe(429);
  });

  it("should let exactly the limit through when one key's requests race on both instances", async () => {
    await awayFromWindowEdge();
    const key = await newKey('racing');
    const statuses = await Promise.all(
      Array.from({ length: 4 * LIMIT }, (_, i) => (i % 2 ? b : a).api('GET', '/v1/card-loads', { key }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200).length).toBe(LIMIT);
    expect(statuses.filter((s) => s === 429).length).toBe(3 * LIMIT);
  });
});
