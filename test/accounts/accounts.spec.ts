import { encodeCursor } from '../../src/common/paging';
import { useTestApp } from '../support/app';
import { asCsvText, csvObjects } from '../support/csv';
import { postTransfer } from '../support/journal';
import { errorFields, expectGetRefused } from '../support/refusals';

const asCsvRows = (rows: Array<Record<string, unknown>>) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, asCsvText(v)])));

describe('/v1/accounts', () => {
  const ctx = useTestApp();
  let reader: string;
  beforeAll(async () => {
    reader = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'auditor', scopes: ['ledger:read'] } })).body.key;
  });

  const fund = (code: string, amount: string, description = 'funding') =>
    postTransfer(ctx.app, description, 'external:funding', code, amount);

  it('should open an account (201) once, and answer 409 for the same code again', async () => {
    const r = await ctx.app.api('POST', '/v1/accounts', {
      body: { code: 'external:funding', currency: 'INR', normalSide: 'debit', name: 'Funding bank' },
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      code: 'external:funding',
      name: 'Funding bank',
      currency: 'INR',
      normalSide: 'debit',
      noOverdraft: false,
      createdAt: expect.any(String),
      posted: '0.00',
      pending: '0.00',
      available: '0.00',
      postedDebits: '0.00',
      postedCredits: '0.00',
      pendingDebits: '0.00',
      pendingCredits: '0.00',
    });
    const again = await ctx.app.api('POST', '/v1/accounts', { body: { code: 'external:funding', currency: 'INR', normalSide: 'credit' } });
    expect([again.status, again.body.error.code]).toEqual([409, 'conflict']);
    expect(
      (
        await ctx.app.api('POST', '/v1/accounts', {
          body: { code: 'parent:CAACC', currency: 'INR', normalSide: 'credit', noOverdraft: true },
        })
      ).status,
    ).toBe(201);
  });

  it('should let only admin keys open accounts', async () => {
    const r = await ctx.app.api('POST', '/v1/accounts', {
      key: reader,
      body: { code: 'external:x', currency: 'INR', normalSide: 'debit' },
    });
    expect(r.status).toBe(403);
    expect((await ctx.app.api('POST', '/v1/accounts', { key: null, body: {} })).status).toBe(401);
    expect((await ctx.app.api('GET', '/v1/accounts', { key: reader })).status).toBe(200);
  });

  const ok = { code: 'external:bank', currency: 'INR', normalSide: 'debit' };
  it.each([
    ['a missing code', { currency: 'INR', normalSide: 'debit' }, 'code'],
    ['a code without namespace', { ...ok, code: 'funding' }, 'code'],
    ['an upper-case namespace', { ...ok, code: 'External:bank' }, 'code'],
    ['a code with spaces', { ...ok, code: 'external:my bank' }, 'code'],
    ['a made-up currency', { ...ok, currency: 'XYZ' }, 'currency'],
    ['a lower-case currency', { ...ok, currency: 'inr' }, 'currency'],
    ['a missing currency', { code: 'external:bank', normalSide: 'debit' }, 'currency'],
    ['a bad normal side', { ...ok, normalSide: 'left' }, 'normalSide'],
    ['noOverdraft as a string', { ...ok, noOverdraft: 'yes' }, 'noOverdraft'],
    ['a too long name', { ...ok, name: 'n'.repeat(201) }, 'name'],
    ['an unknown field', { ...ok, balance: '100.00' }, 'balance'],
    ['a debit-normal card', { code: 'card:EKCABCDEF1', currency: 'INR', normalSide: 'debit' }, 'normalSide'],
    ['a USD parent', { code: 'parent:CAUSD', currency: 'USD', normalSide: 'credit' }, 'currency'],
    ['a card that is not an EnKash card id', { code: 'card:12', currency: 'INR', normalSide: 'credit' }, 'code'],
    ['a card refusing overdraft', { code: 'card:EKCABCDEF1', currency: 'INR', normalSide: 'credit', noOverdraft: true }, 'noOverdraft'],
  ])('should refuse %s with a 400 naming the field and write nothing', async (_name, body, field) => {
    const before = await ctx.db.query(`SELECT count(*)::int AS n FROM accounts`);
    const r = await ctx.app.api('POST', '/v1/accounts', { body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(errorFields(r.body)).toContain(field);
    expect((await ctx.db.query(`SELECT count(*)::int AS n FROM accounts`)).rows[0].n).toBe(before.rows[0].n);
  });

  it('should show posted, pending and available balances with the four raw sums, now and as of a moment', async () => {
    expect((await fund('parent:CAACC', '1000.00')).status).toBe(201);
    const afterFunding = new Date();
    await new Promise((r) => setTimeout(r, 5));
    const load = await ctx.app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: 'EKCACC0001', amount: '250.50', cardAccountId: 'CAACC' },
      headers: { 'idempotency-key': 'acc-1' },
    });
    expect(load.status).toBe(201);
    const now = await ctx.app.api('GET', '/v1/accounts/parent:CAACC', { key: reader });
    expect(now.body).toMatchObject({
      code: 'parent:CAACC',
      normalSide: 'credit',
      noOverdraft: true,
      posted: '1000.00',
      pending: '-250.50',
      available: '749.50',
      postedDebits: '0.00',
      postedCredits: '1000.00',
      pendingDebits: '250.50',
      pendingCredits: '0.00',
    });
    const then = await ctx.app.api('GET', `/v1/accounts/parent%3ACAACC?asOf=${afterFunding.toISOString()}`);
    expect(then.body).toMatchObject({
      posted: '1000.00',
      pending: '0.00',
      available: '1000.00',
      pendingDebits: '0.00',
      asOf: afterFunding.toISOString(),
    });
    expect((await ctx.app.api('GET', '/v1/accounts/parent:CAACC?asOf=2020-01-01T00:00:00Z')).status).toBe(404);
    expect((await ctx.app.api('GET', '/v1/accounts/parent:CANONE')).status).toBe(404);
    const bad = await ctx.app.api('GET', '/v1/accounts/not-a-code');
    expect([bad.status, errorFields(bad.body)]).toEqual([400, ['code']]);
    expect(errorFields((await ctx.app.api('GET', '/v1/accounts/parent:CAACC?asOf=soon')).body)).toEqual(['asOf']);
  });

  it('should list accounts by code with a cursor and filters, and as CSV', async () => {
    for (const code of ['external:a1', 'external:a2', 'external:a3']) {
      expect(
        (await ctx.app.api('POST', '/v1/accounts', { body: { code, currency: 'USD', normalSide: 'debit', name: `${code}, "quoted"` } }))
          .status,
      ).toBe(201);
    }
    const all = (await ctx.app.api('GET', '/v1/accounts?limit=500')).body.data;
    const codes: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await ctx.app.api('GET', `/v1/accounts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      codes.push(...r.body.data.map((a: { code: string }) => a.code));
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(codes).toEqual(all.map((a: { code: string }) => a.code));
    expect(new Set(codes).size).toBe(codes.length);
    const usd = (await ctx.app.api('GET', '/v1/accounts?currency=USD')).body.data.map((a: { code: string }) => a.code);
    expect(usd).toEqual(['external:a1', 'external:a2', 'external:a3']);
    const cards = (await ctx.app.api('GET', '/v1/accounts?namespace=card')).body.data.map((a: { code: string }) => a.code);
    expect(cards).toEqual(['card:EKCACC0001']);
    const csv = await ctx.app.api('GET', '/v1/accounts?format=csv');
    expect(csvObjects(csv.text)).toEqual(asCsvRows(all));
  });

  it("should list an account's entries oldest first, filtered by time, as JSON pages and as CSV", async () => {
    expect((await fund('external:a1', '1.00')).status).toBe(400); // USD account, INR funding: unbalanced per currency
    const tricky = ['a "quoted" word', 'comma, inside', 'two\nlines', 'crlf\r\nend', '  spaced  ', '"', '=SUM(A1)'];
    for (const d of tricky) expect((await fund('parent:CAACC', '2.00', d)).status).toBe(201);
    const all = (await ctx.app.api('GET', '/v1/accounts/parent:CAACC/entries?limit=500')).body.data;
    expect(all.map((e: { description: string }) => e.description).slice(2)).toEqual(tricky);
    expect(all[0]).toMatchObject({ kind: 'posted', direction: 'credit', amount: '1000.00', description: 'funding' });
    expect(all[1]).toMatchObject({ kind: 'pending', direction: 'debit', amount: '250.50', currency: 'INR' });
    const csv = await ctx.app.api('GET', '/v1/accounts/parent:CAACC/entries', { headers: { accept: 'text/csv' } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csvObjects(csv.text)).toEqual(asCsvRows(all));
    const from = all[3].createdAt;
    const to = all[6].createdAt;
    const window = (await ctx.app.api('GET', `/v1/accounts/parent:CAACC/entries?from=${from}&to=${to}`)).body.data;
    expect(window.map((e: { id: string }) => e.id)).toEqual(
      all.filter((e: { createdAt: string }) => e.createdAt >= from && e.createdAt < to).map((e: { id: string }) => e.id),
    );
    expect(window.length).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['/v1/accounts?limit=0', 'limit'],
    ['/v1/accounts?cursor=abc', 'cursor'],
    [`/v1/accounts?cursor=${encodeCursor(['NOT A CODE'])}`, 'cursor'],
    ['/v1/accounts?currency=XXY', 'currency'],
    ['/v1/accounts?namespace=Card', 'namespace'],
    ['/v1/accounts?format=pdf', 'format'],
    ['/v1/accounts?sort=code', 'sort'],
    ['/v1/accounts/parent:CAACC/entries?limit=-1', 'limit'],
    [`/v1/accounts/parent:CAACC/entries?cursor=${encodeCursor(['12'])}`, 'cursor'],
    ['/v1/accounts/parent:CAACC/entries?from=2026-13-01', 'from'],
    ['/v1/accounts/parent:CAACC/entries?from=2026-03-02&to=2026-03-01', 'to'],
    ['/v1/accounts/bad/entries', 'code'],
  ])('should refuse %s with a 400 naming %s', async (path, field) => {
    await expectGetRefused(ctx.app, path, field);
  });
});
