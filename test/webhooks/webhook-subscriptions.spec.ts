import { MAX_SUBSCRIPTIONS_PER_KEY } from '../../src/webhooks/webhooks.service';
import { useTestApp } from '../support/app';
import { fileTestSettings } from '../support/config';
import { EVENTS } from './harness';

// These subscribe 127.0.0.1 and *.example names that do not resolve here; the SSRF guard has its own spec.
fileTestSettings({ WEBHOOK_ALLOW_PRIVATE_URLS: 'true' });

describe('webhook subscriptions', () => {
  const ctx = useTestApp();

  const key = async (scopes: string[]) =>
    (await ctx.app.api('POST', '/v1/api-keys', { body: { name: `wh-${scopes.join('+')}`, scopes } })).body.key as string;
  const subscribe = (k: string | undefined, body: unknown) => ctx.app.api('POST', '/v1/webhooks', { key: k, body });

  it('should show the secret once and store it only encrypted', async () => {
    const writer = await key(['loads:write']);
    const res = await subscribe(writer, { url: 'https://billing.example.com/hooks?x=1', events: ['card_load.posted'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      url: 'https://billing.example.com/hooks?x=1',
      events: ['card_load.posted'],
      allLoads: false,
      deletedAt: null,
    });
    const secret: string = res.body.secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect((await ctx.app.api('GET', `/v1/webhooks/${res.body.id}`, { key: writer })).body.secret).toBeUndefined();
    expect(JSON.stringify((await ctx.app.api('GET', '/v1/webhooks', { key: writer })).body)).not.toContain(secret);
    const { rows } = await ctx.db.query(`SELECT * FROM webhook_subscriptions WHERE id = $1`, [res.body.id]);
    const stored = rows[0] as { secret_ciphertext: Buffer };
    const raw = Buffer.from(secret, 'utf8');
    const everyColumn = JSON.stringify(rows) + stored.secret_ciphertext.toString('latin1');
    expect(everyColumn).not.toContain(secret);
    expect(everyColumn).not.toContain(secret.slice('whsec_'.length));
    expect(stored.secret_ciphertext.includes(raw)).toBe(false);
    expect(stored.secret_ciphertext.length).toBe(12 + 16 + raw.length);
    // Two subscriptions never share a ciphertext (fresh IV, the id as associated data).
    const again = await subscribe(writer, { url: 'https://billing.example.com/hooks', events: ['card_load.posted'] });
    const both = await ctx.db.query(`SELECT secret_ciphertext FROM webhook_subscriptions WHERE id = ANY ($1::uuid[])`, [
      [res.body.id, again.body.id],
    ]);
    expect(both.rows[0].secret_ciphertext.equals(both.rows[1].secret_ciphertext)).toBe(false);
  });

  it.each([
    [{ url: 'ftp://billing.example.com/x', events: ['card_load.posted'] }, 'url'],
    [{ url: 'not a url', events: ['card_load.posted'] }, 'url'],
    [{ url: 'https://user:pass@billing.example.com/x', events: ['card_load.posted'] }, 'url'],
    [{ url: `https://billing.example.com/${'x'.repeat(2100)}`, events: ['card_load.posted'] }, 'url'],
    [{ events: ['card_load.posted'] }, 'url'],
    [{ url: 'https://billing.example.com/x', events: ['card_load.created'] }, 'events'],
    [{ url: 'https://billing.example.com/x', events: [] }, 'events'],
    [{ url: 'https://billing.example.com/x', events: ['card_load.posted', 'card_load.posted'] }, 'events'],
    [{ url: 'https://billing.example.com/x' }, 'events'],
    [{ url: 'https://billing.example.com/x', events: ['card_load.posted'], secret: 'mine' }, 'secret'],
  ])('should refuse %j with 400 naming %s, writing nothing', async (body, field) => {
    const before = (await ctx.db.query(`SELECT count(*)::int AS n FROM webhook_subscriptions`)).rows[0].n;
    const res = await subscribe(undefined, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect((await ctx.db.query(`SELECT count(*)::int AS n FROM webhook_subscriptions`)).rows[0].n).toBe(before);
  });

  it('should require loads:write or admin', async () => {
    for (const scopes of [['ledger:read'], ['ops:write']]) {
      const k = await key(scopes);
      expect((await subscribe(k, { url: 'https://a.example/x', events: EVENTS })).status).toBe(403);
      expect((await ctx.app.api('GET', '/v1/webhooks', { key: k })).status).toBe(403);
    }
    expect((await ctx.app.api('GET', '/v1/webhooks', { key: null })).status).toBe(401);
    const admin = await subscribe(undefined, { url: 'http://127.0.0.1:9/x', events: EVENTS });
    expect(admin.status).toBe(201);
    expect(admin.body.allLoads).toBe(true);
  });

  it('should keep a subscription private to its key: another key can neither see, read, log nor delete it', async () => {
    const [alice, bob] = [await key(['loads:write']), await key(['loads:write'])];
    const mine = (await subscribe(alice, { url: 'https://alice.example/hooks', events: EVENTS })).body;
    const theirs = (await subscribe(bob, { url: 'https://bob.example/hooks', events: EVENTS })).body;
    const listed = (k: string | undefined) =>
      ctx.app.api('GET', '/v1/webhooks?limit=500', { key: k }).then((r) => r.body.data.map((s: { id: string }) => s.id));
    expect(await listed(alice)).toEqual([mine.id]);
    expect(await listed(bob)).toEqual([theirs.id]);
    expect(await listed(undefined)).toEqual(expect.arrayContaining([mine.id, theirs.id]));
    for (const [method, path] of [
      ['GET', ''],
      ['DELETE', ''],
      ['GET', '/deliveries'],
      ['POST', '/deliveries/00000000-0000-4000-8000-000000000000/redeliver'],
    ] as const) {
      const res = await ctx.app.api(method, `/v1/webhooks/${mine.id}${path}`, { key: bob });
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await ctx.app.api('GET', `/v1/webhooks/${mine.id}`, { key: alice })).status).toBe(200);
    const deleted = await ctx.app.api('DELETE', `/v1/webhooks/${mine.id}`, { key: alice });
    expect(deleted.status).toBe(200);
    expect(deleted.body.deletedAt).not.toBeNull();
    expect((await ctx.app.api('GET', `/v1/webhooks/${mine.id}`, { key: alice })).status).toBe(404);
    expect((await ctx.app.api('DELETE', `/v1/webhooks/${mine.id}`, { key: alice })).status).toBe(404);
    expect(await listed(alice)).toEqual([]);
    // An admin may remove anyone's.
    expect((await ctx.app.api('DELETE', `/v1/webhooks/${theirs.id}`)).status).toBe(200);
    expect(await listed(bob)).toEqual([]);
  });

  it.each([
    ['HTTP://93.184.216.34/x', 'http://93.184.216.34/x'],
    [' http://93.184.216.34/x ', 'http://93.184.216.34/x'],
    ['http:/93.184.216.34/x', 'http://93.184.216.34/x'],
    ['https://Billing.Example.COM:443/a/../hooks?q=1#frag', 'https://billing.example.com/hooks?q=1#frag'],
    ['http://ex\tample.com/h', 'http://example.com/h'],
  ])('should store %j as the WHATWG URL parser writes it, %j', async (url, stored) => {
    const res = await subscribe(undefined, { url, events: ['card_load.posted'] });
    expect([res.status, res.body.url]).toEqual([201, stored]);
    const { rows } = await ctx.db.query(`SELECT url FROM webhook_subscriptions WHERE id = $1`, [res.body.id]);
    expect(rows[0].url).toBe(stored);
    expect((await ctx.app.api('DELETE', `/v1/webhooks/${res.body.id}`)).status).toBe(200);
  });

  it('should page with an opaque cursor, refuse a bad one, and cap subscriptions per key', async () => {
    const k = await key(['loads:write']);
    const ids: string[] = [];
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_KEY; i++) {
      const res = await subscribe(k, { url: `https://cap.example/${i}`, events: ['card_load.posted'] });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    const over = await subscribe(k, { url: 'https://cap.example/over', events: ['card_load.posted'] });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('conflict');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: Array<{ id: string }>; nextCursor: string | null } } = await ctx.app.api(
        'GET',
        `/v1/webhooks?limit=7${cursor ? `&cursor=${cursor}` : ''}`,
        { key: k },
      );
      seen.push(...page.body.data.map((s) => s.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect((await ctx.app.api('GET', '/v1/webhooks?cursor=nope', { key: k })).status).toBe(400);
    const yearZero = Buffer.from(JSON.stringify(['0000-01-01T00:00:00.000000Z', ids[0]])).toString('base64url');
    expect((await ctx.app.api('GET', `/v1/webhooks?cursor=${yearZero}`, { key: k })).status).toBe(400);
    expect((await ctx.app.api('GET', '/v1/webhooks?limit=0', { key: k })).status).toBe(400);
    expect((await ctx.app.api('GET', `/v1/webhooks/${ids[0]}/deliveries?status=lost`, { key: k })).status).toBe(400);
    expect((await ctx.app.api('GET', '/v1/webhooks/not-a-uuid', { key: k })).status).toBe(404);
  });
});
