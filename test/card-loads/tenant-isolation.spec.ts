import { useTestApp } from '../support/app';
import { csvObjects } from '../support/csv';

/**
 * Two billing systems on one ledger: a loads:write key sees only the loads it created (single, list, CSV,
 * batch replays); ledger:read and admin see all. Another key's load answers 404, as if it did not exist.
 */
describe('who sees which loads', () => {
  const ctx = useTestApp({ db: false });
  const keys: Record<'a' | 'b' | 'auditor' | 'both', string> = { a: '', b: '', auditor: '', both: '' };
  const loads: Record<'a' | 'b', string[]> = { a: [], b: [] };

  const newKey = async (name: string, scopes: string[]) =>
    (await ctx.app.api('POST', '/v1/api-keys', { body: { name, scopes } })).body.key as string;

  beforeAll(async () => {
    keys.a = await newKey('billing-a', ['loads:write']);
    keys.b = await newKey('billing-b', ['loads:write']);
    keys.auditor = await newKey('auditor', ['ledger:read']);
    keys.both = await newKey('billing-and-audit', ['loads:write', 'ledger:read']);
    for (const who of ['a', 'b'] as const) {
      for (let i = 0; i < 3; i++) {
        const r = await ctx.app.api('POST', '/v1/card-loads', {
          key: keys[who],
          headers: { 'idempotency-key': `same-key-${i}` },
          body: { enKashCardId: 'EKCTENANT1', amount: `${who === 'a' ? 1 : 2}.0${i}`, metadata: { owner: who } },
        });
        expect(r.status).toBe(201);
        loads[who].push(r.body.id);
      }
    }
  });

  it('should answer a single load only to the key that created it (404 to another loads:write key)', async () => {
    expect((await ctx.app.api('GET', `/v1/card-loads/${loads.a[0]}`, { key: keys.a })).status).toBe(200);
    const other = await ctx.app.api('GET', `/v1/card-loads/${loads.a[0]}`, { key: keys.b });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('not_found');
    for (const key of [keys.auditor, keys.both, undefined]) {
      expect((await ctx.app.api('GET', `/v1/card-loads/${loads.a[0]}`, { key })).status).toBe(200);
    }
  });

  it("should list, filter and export only the caller's own loads", async () => {
    const ids = async (key: string | undefined, query = '') =>
      ((await ctx.app.api('GET', `/v1/card-loads?limit=500${query}`, { key })).body.data as Array<{ id: string }>).map((l) => l.id).sort();
    expect(await ids(keys.a)).toEqual([...loads.a].sort());
    expect(await ids(keys.b, '&enKashCardId=EKCTENANT1&status=pending')).toEqual([...loads.b].sort());
    expect(await ids(keys.auditor)).toEqual([...loads.a, ...loads.b].sort());
    expect(await ids(keys.both)).toEqual([...loads.a, ...loads.b].sort());
    expect(await ids(undefined)).toEqual([...loads.a, ...loads.b].sort());
    // Paging with a cursor stays within the key's own loads.
    const first = await ctx.app.api('GET', '/v1/card-loads?limit=2', { key: keys.b });
    const rest = await ctx.app.api('GET', `/v1/card-loads?limit=2&cursor=${first.body.nextCursor}`, { key: keys.b });
    expect([...first.body.data, ...rest.body.data].map((l: { id: string }) => l.id).sort()).toEqual([...loads.b].sort());
    const csv = csvObjects((await ctx.app.api('GET', '/v1/card-loads?format=csv', { key: keys.a })).text);
    expect(csv.map((r) => r.id).sort()).toEqual([...loads.a].sort());
    expect(csv.every((r) => r.metadata === '{"owner":"a"}')).toBe(true);
  });

  it("should replay a batch item from the caller's own load only, whoever used the same idempotency key", async () => {
    const replay = await ctx.app.api('POST', '/v1/card-loads/batch', {
      key: keys.b,
      body: { loads: [{ idempotencyKey: 'same-key-0', enKashCardId: 'EKCTENANT1', amount: '2.00', metadata: { owner: 'b' } }] },
    });
    expect(replay.body.results[0]).toMatchObject({ status: 200, load: { id: loads.b[0], amount: '2.00', metadata: { owner: 'b' } } });
    // Key a's body under the same idempotency key is key b's own conflict, never key a's load.
    const clash = await ctx.app.api('POST', '/v1/card-loads/batch', {
      key: keys.b,
      body: { loads: [{ idempotencyKey: 'same-key-1', enKashCardId: 'EKCTENANT1', amount: '1.01', metadata: { owner: 'a' } }] },
    });
    expect(clash.body.results[0]).toMatchObject({ status: 409, error: { code: 'idempotency_key_reused' } });
    expect(JSON.stringify(clash.body)).not.toContain(loads.a[1]);
  });
});
