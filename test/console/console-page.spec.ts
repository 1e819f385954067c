import { readdirSync } from 'node:fs';
import path from 'node:path';
import { CONSOLE_CSP, consoleBuildDir } from '../../src/console/console-assets';
import { useTestApp } from '../support/app';

/** GET /console on the API's own port: one page for every console path, its assets from the service, nothing from elsewhere. */
describe('the console page and its assets', () => {
  const ctx = useTestApp({ db: false });

  it("should serve the page at /console and at every deep link, under the console's own CSP, never cached stale", async () => {
    const root = await ctx.app.api('GET', '/console', { key: null });
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(root.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(root.headers.get('cache-control')).toBe('no-cache');
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|upgrade-insecure-requests|https?:/);
    for (const deep of [
      '/console/cards/EKCMB7KAEW?asOf=2026-03-05T10:03:00.000Z',
      '/console/loads/0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60',
      '/console/review',
      '/console/reconciliation',
      '/console/webhooks/0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60',
    ]) {
      const page = await ctx.app.api('GET', deep, { key: null });
      expect({ deep, status: page.status, same: page.text === root.text }).toEqual({ deep, status: 200, same: true });
    }
  });

  it('should load every script and style of the page from the service itself, cached for good (hashed names)', async () => {
    const page = await ctx.app.api('GET', '/console', { key: null });
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.filter((r) => !r.startsWith('/console/assets/') && r !== 'data:,')).toEqual([]);
    expect(refs.filter((r) => r.startsWith('/console/assets/')).length).toBeGreaterThanOrEqual(2);
    for (const ref of refs.filter((r) => r.startsWith('/console/assets/'))) {
      const asset = await ctx.app.api('GET', ref, { key: null });
      expect({ ref, status: asset.status }).toEqual({ ref, status: 200 });
      expect(asset.headers.get('content-type')).toMatch(/^(text\/javascript|application\/javascript|text\/css)/);
      expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    }
    // No import or stylesheet from another origin anywhere in the build (namespace URIs and comments are not loads).
    const dir = path.join(consoleBuildDir(), 'assets');
    for (const file of readdirSync(dir)) {
      const text = (await ctx.app.api('GET', `/console/assets/${file}`, { key: null })).text;
      expect({ file, remote: text.match(/(?:import\s*\(?\s*["'`]|url\(\s*["']?|from\s*["'`])(https?:)?\/\//g) }).toEqual({
        file,
        remote: null,
      });
    }
  });

  it('should answer a missing asset or console API path 404 in the error shape, not with the page', async () => {
    for (const url of ['/console/assets/nope.js', '/console/api/nope', '/console/api']) {
      const res = await ctx.app.api('GET', url, { key: null });
      expect({ url, status: res.status, code: res.body?.error?.code }).toEqual({ url, status: 404, code: 'not_found' });
    }
    const post = await ctx.app.api('POST', '/console/cards', { key: null, body: {} });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });
});
