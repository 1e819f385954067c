import { useTestApp } from '../support/app';

describe('API keys and scopes', () => {
  const ctx = useTestApp();

  const key = async (scopes: string[]) =>
    (await ctx.app.api('POST', '/v1/api-keys', { body: { name: `k-${scopes.join('+')}`, scopes } })).body;

  it('should answer 401 without a key, with a malformed header and with an unknown key', async () => {
    expect((await ctx.app.api('GET', '/v1/card-loads', { key: null })).body.error.code).toBe('unauthorized');
    expect((await ctx.app.api('GET', '/v1/card-loads', { key: null, headers: { authorization: 'Basic abc' } })).status).toBe(401);
    expect((await ctx.app.api('GET', '/v1/card-loads', { key: 'ckl_unknown_key_0123456789' })).status).toBe(401);
  });

  it('should answer 403 for a key without the scope, and let the right scope through', async () => {
    const reader = await key(['ledger:read']);
    const writer = await key(['loads:write']);
    const res = await ctx.app.api('POST', '/v1/card-loads', {
      key: reader.key,
      body: { enKashCardId: 'EKCAUTH001', amount: '1.00' },
      headers: { 'idempotency-key': 'a1' },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    const ok = await ctx.app.api('POST', '/v1/card-loads', {
      key: writer.key,
      body: { enKashCardId: 'EKCAUTH001', amount: '1.00' },
      headers: { 'idempotency-key': 'a1' },
    });
    expect(ok.status).toBe(201);
    expect((await ctx.app.api('GET', '/v1/cards/EKCAUTH001/balance', { key: writer.key })).status).toBe(403);
    expect((await ctx.app.api('GET', '/v1/cards/EKCAUTH001/balance', { key: reader.key })).status).toBe(200);
    expect((await ctx.app.api('GET', '/v1/api-keys', { key: reader.key })).status).toBe(403);
  });

  it('should store only a hash of each key and stop a revoked key at once', async () => {
    const created = await key(['ledger:read']);
    expect(created.key).toMatch(/^ckl_/);
    const { rows } = await ctx.db.query(`SELECT * FROM api_keys WHERE id = $1`, [created.id]);
    expect(JSON.stringify(rows)).not.toContain(created.key);
    expect((await ctx.app.api('GET', '/v1/card-loads', { key: created.key })).status).toBe(200);
    const revoked = await ctx.app.api('DELETE', `/v1/api-keys/${created.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await ctx.app.api('GET', '/v1/card-loads', { key: created.key })).status).toBe(401);
    expect(JSON.stringify((await ctx.app.api('GET', '/v1/api-keys')).body)).not.toContain(created.key);
  });

  it('should refuse bad key requests with 400 naming the field', async () => {
    const res = await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'x', scopes: ['root'] } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error.details)).toContain('scopes');
    expect((await ctx.app.api('DELETE', '/v1/api-keys/nope')).status).toBe(404);
  });
});
