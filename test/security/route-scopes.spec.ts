import { SCOPES, Scope } from '../../src/auth/scopes';
import { registeredRoutes } from '../../src/http/route-registry';
import { ADMIN_KEY, useTestApp } from '../support/app';

/**
 * Every route Fastify really serves, called with no key, an unknown key, a key of each single scope and
 * the admin key. The scopes expected are the ones the OpenAPI document states (generated from the same
 * metadata the guard reads), and for the routes API.md fixes they must also match the contract below.
 */
const PUBLIC_PREFIX = /^\/(health\/|metrics$|docs|console)/;
/**
 * The console's session routes take no API key: their credential is the key in the sign-in body, then the session
 * cookie (test/console/console-session.spec.ts), so without a cookie they answer 401 whatever the Authorization.
 */
const SESSION_ROUTE = /^\/console\/api\/session$/;

/** API.md: who may call what (`admin` implies all). Routes added later are still walked, by their declared scope. */
const CONTRACT: Record<string, Scope[]> = {
  'POST /v1/card-loads': ['loads:write'],
  'GET /v1/card-loads': ['loads:write', 'ledger:read'],
  'GET /v1/card-loads/{id}': ['loads:write', 'ledger:read'],
  'POST /v1/card-loads/{id}/resolve': ['ops:write'],
  'GET /v1/cards/{enKashCardId}/balance': ['ledger:read'],
  'GET /v1/cards/{enKashCardId}/history': ['ledger:read'],
  'GET /v1/accounts': ['ledger:read'],
  'GET /v1/accounts/{code}': ['ledger:read'],
  'GET /v1/accounts/{code}/entries': ['ledger:read'],
  'POST /v1/accounts': ['admin'],
  'POST /v1/journal': ['admin'],
  'GET /v1/journal': ['ledger:read'],
  'GET /v1/journal/{id}': ['ledger:read'],
  'GET /v1/reports/trial-balance': ['ledger:read'],
  'GET /v1/reports/reconciliation': ['ledger:read'],
  'GET /v1/audit/verify': ['ledger:read'],
  'POST /v1/api-keys': ['admin'],
  'GET /v1/api-keys': ['admin'],
  'DELETE /v1/api-keys/{id}': ['admin'],
};

const SAMPLE_PARAM: Record<string, string> = { enKashCardId: 'EKCMB7KAEW', code: 'external:funding' };
const SAMPLE_UUID = '00000000-0000-4000-8000-000000000000';
const concrete = (url: string) => url.replace(/:(\w+)/g, (_, name: string) => SAMPLE_PARAM[name] ?? SAMPLE_UUID).replace(/\*$/, 'x');
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

type Route = { method: string; url: string; public: boolean; scopes: Scope[] };

describe('route × scope matrix', () => {
  const ctx = useTestApp({ db: false });
  let routes: Route[];
  const keys: Record<string, string | null> = {};

  beforeAll(async () => {
    for (const scope of SCOPES.filter((s) => s !== 'admin')) {
      keys[scope] = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: `matrix-${scope}`, scopes: [scope] } })).body.key;
    }
    keys.admin = ADMIN_KEY;
    const doc = (await ctx.app.api('GET', '/docs-json', { key: null })).body;
    routes = registeredRoutes(ctx.app.app)
      .filter((r) => r.method !== 'OPTIONS')
      .map((r) => {
        // HEAD is Fastify's mirror of GET: the same handler, so the same guard.
        const op = doc.paths[openApiPath(r.url)]?.[(r.method === 'HEAD' ? 'GET' : r.method).toLowerCase()];
        const isPublic = op ? Array.isArray(op.security) && op.security.length === 0 : PUBLIC_PREFIX.test(r.url);
        return { ...r, public: isPublic, scopes: op?.['x-required-scopes'] ?? [] };
      });
  });

  it('should find every route of the contract registered, and only health, metrics, docs and the console public', () => {
    const byKey = new Map(routes.map((r) => [`${r.method} ${openApiPath(r.url)}`, r]));
    for (const [route, scopes] of Object.entries(CONTRACT)) {
      expect({ route, scopes: byKey.get(route)?.scopes }).toEqual({ route, scopes });
    }
    expect(routes.filter((r) => r.public !== PUBLIC_PREFIX.test(r.url)).map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(routes.filter((r) => !r.public && r.scopes.length === 0).map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(routes.length).toBeGreaterThan(Object.keys(CONTRACT).length);
  });

  it('should answer 401 without a key or with an unknown key, on every route that is not public', async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      if (SESSION_ROUTE.test(r.url)) continue;
      for (const key of [null, 'ckl_not_a_key_of_ours_0123456789']) {
        const res = await ctx.app.api(r.method, concrete(r.url), { key });
        const ok = r.public ? res.status !== 401 && res.status !== 403 : res.status === 401;
        if (!ok) wrong.push(`${r.method} ${r.url} key=${key ? 'unknown' : 'none'} → ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("should answer 403 to a key lacking the route's scope and let a key holding it through", async () => {
    const wrong: string[] = [];
    for (const r of routes.filter((route) => !SESSION_ROUTE.test(route.url))) {
      for (const [scope, key] of Object.entries(keys)) {
        const res = await ctx.app.api(r.method, concrete(r.url), { key });
        const allowed = r.public || scope === 'admin' || r.scopes.includes(scope as Scope);
        const ok = allowed
          ? res.status !== 401 && res.status !== 403
          : res.status === 403 && (r.method === 'HEAD' || res.body?.error?.code === 'forbidden');
        if (!ok) wrong.push(`${r.method} ${r.url} scope=${scope} (needs ${r.scopes.join('|') || 'nothing'}) → ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
