import { createHash } from 'node:crypto';
import { ADMIN_KEY, startTestApp, TestApp, useTestApp } from '../support/app';

/**
 * Console sessions (docs/console.md): an API key pasted once becomes a session cookie; the guard takes the cookie
 * in place of the key, with the key's scopes; every write needs the session's CSRF token; sessions end.
 */
const COOKIE = 'card_ledger_session';

async function signIn(app: TestApp, apiKey: string) {
  const res = await app.api('POST', '/console/api/session', { key: null, body: { apiKey } });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const id = new RegExp(`${COOKIE}=([^;]+)`).exec(setCookie)?.[1] ?? '';
  return { res, setCookie, cookie: `${COOKIE}=${id}`, id, csrf: res.body?.csrfToken as string };
}

describe('console sessions', () => {
  const ctx = useTestApp();
  let reader: string;
  let operator: string;

  beforeAll(async () => {
    reader = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'auditor', scopes: ['ledger:read'] } })).body.key;
    operator = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'night-operator', scopes: ['ops:write'] } })).body.key;
  });

  it('should exchange a key for an HttpOnly, SameSite=Strict cookie, storing only the hash of the session id', async () => {
    const { res, setCookie, id, csrf } = await signIn(ctx.app, reader);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      name: 'auditor',
      scopes: ['ledger:read'],
      expiresAt: expect.any(String),
      maxExpiresAt: expect.any(String),
      csrfToken: csrf,
    });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/); // plain HTTP here
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = (await ctx.db.query(`SELECT * FROM console_sessions`)).rows;
    const stored = JSON.stringify(rows.map((r) => ({ ...r, id_hash: r.id_hash.toString('hex') })));
    expect(stored).toContain(createHash('sha256').update(id).digest('hex'));
    for (const secret of [id, reader, csrf, Buffer.from(id).toString('hex')]) expect(stored).not.toContain(secret);
  });

  it("should refuse an unknown key, a bad body and a sign-in posted from another origin's page", async () => {
    expect(
      (await ctx.app.api('POST', '/console/api/session', { key: null, body: { apiKey: 'ckl_not_a_key_of_ours_0123456789' } })).status,
    ).toBe(401);
    const bad = await ctx.app.api('POST', '/console/api/session', { key: null, body: { apiKey: 'short' } });
    expect([bad.status, bad.body.error.details[0].field]).toEqual([400, 'apiKey']);
    const foreign = await ctx.app.api('POST', '/console/api/session', {
      key: null,
      body: { apiKey: reader },
      headers: { origin: 'https://evil.example' },
    });
    expect([foreign.status, foreign.body.error.code, foreign.headers.get('set-cookie')]).toEqual([403, 'forbidden', null]);
    const own = await ctx.app.api('POST', '/console/api/session', {
      key: null,
      body: { apiKey: reader },
      headers: { origin: ctx.app.url },
    });
    expect(own.status).toBe(201);
    // Sec-Fetch-Site, which pages cannot forge, decides when a browser sends it: another port of this host is same-site.
    for (const site of ['cross-site', 'same-site', 'none']) {
      const res = await ctx.app.api('POST', '/console/api/session', {
        key: null,
        body: { apiKey: reader },
        headers: { 'sec-fetch-site': site },
      });
      expect({ site, status: res.status }).toEqual({ site, status: 403 });
    }
    // Behind a proxy that rewrites Host, the page's own sign-in still passes.
    const proxied = await ctx.app.api('POST', '/console/api/session', {
      key: null,
      body: { apiKey: reader },
      headers: { 'sec-fetch-site': 'same-origin', origin: 'https://ledger.example.com' },
    });
    expect(proxied.status).toBe(201);
  });

  it("should let the cookie stand for the key on /v1, with the key's scopes", async () => {
    const { cookie } = await signIn(ctx.app, reader);
    const read = await ctx.app.api('GET', '/v1/reports/trial-balance', { key: null, headers: { cookie } });
    expect(read.status).toBe(200);
    const notItsScope = await ctx.app.api('GET', '/v1/webhooks', { key: null, headers: { cookie } });
    expect([notItsScope.status, notItsScope.body.error.code]).toEqual([403, 'forbidden']);
    const session = await ctx.app.api('GET', '/console/api/session', { key: null, headers: { cookie } });
    expect([session.status, session.body.name]).toEqual([200, 'auditor']);
    expect((await ctx.app.api('GET', '/console/api/session', { key: null })).status).toBe(401);
    // An Authorization header wins over the cookie: API clients are never judged by a browser's session.
    const header = await ctx.app.api('GET', '/v1/webhooks', { key: ADMIN_KEY, headers: { cookie } });
    expect(header.status).toBe(200);
  });

  it("should refuse a write made with the cookie but without the session's CSRF token, and change nothing", async () => {
    const { cookie, csrf } = await signIn(ctx.app, operator);
    const load = (
      await ctx.app.api('POST', '/v1/card-loads', {
        body: { enKashCardId: 'EKCCSRF001', amount: '10.00' },
        headers: { 'idempotency-key': 'csrf-1' },
      })
    ).body;
    const before = (await ctx.db.query(`SELECT count(*)::int AS n FROM load_events WHERE load_id = $1`, [load.id])).rows[0].n;
    for (const headers of [{ cookie }, { cookie, 'x-csrf-token': 'forged' }, { cookie, 'x-csrf-token': `${csrf}x` }] as Array<
      Record<string, string>
    >) {
      const forged = await ctx.app.api('POST', `/v1/card-loads/${load.id}/resolve`, {
        key: null,
        headers,
        body: { outcome: 'reversed', reason: 'forged' },
      });
      expect([forged.status, forged.body.error.code, forged.body.error.message]).toEqual([403, 'forbidden', expect.stringMatching(/CSRF/)]);
    }
    const other = await signIn(ctx.app, operator);
    const crossed = await ctx.app.api('POST', `/v1/card-loads/${load.id}/resolve`, {
      key: null,
      headers: { cookie, 'x-csrf-token': other.csrf },
      body: { outcome: 'reversed', reason: "another session's token" },
    });
    expect(crossed.status).toBe(403);
    expect((await ctx.db.query(`SELECT count(*)::int AS n FROM load_events WHERE load_id = $1`, [load.id])).rows[0].n).toBe(before);
    // With the token the write reaches the route, which answers as it answers a key (the load is pending, not in review).
    const real = await ctx.app.api('POST', `/v1/card-loads/${load.id}/resolve`, {
      key: null,
      headers: { cookie, 'x-csrf-token': csrf },
      body: { outcome: 'reversed', reason: 'a real operator' },
    });
    expect([real.status, real.body.error.code]).toEqual([409, 'invalid_state']);
  });

  it('should sign out only with the CSRF token, clear the cookie, and refuse the old cookie from then on', async () => {
    const { cookie, csrf } = await signIn(ctx.app, reader);
    const forged = await ctx.app.api('DELETE', '/console/api/session', { key: null, headers: { cookie } });
    expect(forged.status).toBe(403);
    expect((await ctx.app.api('GET', '/v1/audit/verify', { key: null, headers: { cookie } })).status).toBe(200);
    const out = await ctx.app.api('DELETE', '/console/api/session', { key: null, headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(new RegExp(`${COOKIE}=;.*Expires=Thu, 01 Jan 1970`));
    const after = await ctx.app.api('GET', '/v1/audit/verify', { key: null, headers: { cookie } });
    expect([after.status, after.body.error.code]).toEqual([401, 'unauthorized']);
    expect((await ctx.app.api('DELETE', '/console/api/session', { key: null, headers: { cookie } })).status).toBe(204);
  });

  it('should end a session when its key is revoked', async () => {
    const key = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'temp', scopes: ['ledger:read'] } })).body;
    const { cookie } = await signIn(ctx.app, key.key);
    expect((await ctx.app.api('GET', '/v1/audit/verify', { key: null, headers: { cookie } })).status).toBe(200);
    await ctx.app.api('DELETE', `/v1/api-keys/${key.id}`);
    expect((await ctx.app.api('GET', '/v1/audit/verify', { key: null, headers: { cookie } })).status).toBe(401);
  });

  it('should answer 401, never a 500, to a cookie that is not a session', async () => {
    for (const value of ['x', 'a'.repeat(43), '%00', 'é'.repeat(10)]) {
      const res = await ctx.app.api('GET', '/v1/audit/verify', {
        key: null,
        headers: { cookie: `${COOKIE}=${encodeURIComponent(value)}` },
      });
      expect({ value, status: res.status }).toEqual({ value, status: 401 });
    }
  });
});

describe('console session expiry', () => {
  let app: TestApp;
  const env = { CONSOLE_SESSION_IDLE_MS: '1500', CONSOLE_SESSION_MAX_MS: '4000', CONSOLE_SECURE_COOKIE: 'true' };
  beforeAll(async () => {
    app = await startTestApp(env);
  });
  afterAll(() => app.close());
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('should mark the cookie Secure when told the service is behind TLS', async () => {
    expect((await signIn(app, ADMIN_KEY)).setCookie).toMatch(/; Secure/);
  });

  it('should end a session left unused for the idle time, and keep one in use alive only until its maximum', async () => {
    const idle = await signIn(app, ADMIN_KEY);
    const busy = await signIn(app, ADMIN_KEY);
    const started = Date.now();
    while (Date.now() - started < 3000) {
      await sleep(400);
      expect((await app.api('GET', '/v1/audit/verify', { key: null, headers: { cookie: busy.cookie } })).status).toBe(200);
    }
    expect((await app.api('GET', '/v1/audit/verify', { key: null, headers: { cookie: idle.cookie } })).status).toBe(401);
    await sleep(Math.max(0, 4200 - (Date.now() - started)));
    expect((await app.api('GET', '/v1/audit/verify', { key: null, headers: { cookie: busy.cookie } })).status).toBe(401);
  });
});
