import { encodeCursor } from '../../src/common/paging';
import { useTestApp } from '../support/app';
import { asCsvText, csvObjects } from '../support/csv';
import { postTransfer } from '../support/journal';
import { expectGetRefused } from '../support/refusals';

type Line = { code: string; debitBalance: string; creditBalance: string; pendingDebits: string; pendingCredits: string };
const settle = () => new Promise((r) => setTimeout(r, 3)); // the API speaks milliseconds: keep moments apart

describe('GET /v1/reports/trial-balance', () => {
  const ctx = useTestApp({ db: false });
  let beforeAll_: string;
  let afterFunding: string;
  beforeAll(async () => {
    beforeAll_ = new Date().toISOString();
    await settle();
    for (const body of [
      { code: 'external:funding', currency: 'INR', normalSide: 'debit', name: 'Bank, "main"' },
      { code: 'parent:CATB', currency: 'INR', normalSide: 'credit', noOverdraft: true },
      { code: 'external:usd', currency: 'USD', normalSide: 'debit' },
      { code: 'income:fx', currency: 'USD', normalSide: 'credit' },
    ])
      expect((await ctx.app.api('POST', '/v1/accounts', { body })).status).toBe(201);
    expect((await postTransfer(ctx.app, 'fund', 'external:funding', 'parent:CATB', '1000.00')).status).toBe(201);
    await settle();
    afterFunding = new Date().toISOString();
    await settle();
    const load = await ctx.app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: 'EKCTB00001', amount: '250.00', cardAccountId: 'CATB' },
      headers: { 'idempotency-key': 'tb-1' },
    });
    expect(load.status).toBe(201);
    expect((await postTransfer(ctx.app, 'fx', 'external:usd', 'income:fx', '5.00')).status).toBe(201);
  });

  it('should list every account with its balance column and totals per currency where debits equal credits', async () => {
    const r = await ctx.app.api('GET', '/v1/reports/trial-balance');
    expect(r.status).toBe(200);
    expect(r.body.balanced).toBe(true);
    expect(r.body.totals).toEqual([
      {
        currency: 'INR',
        debitBalance: '1000.00',
        creditBalance: '1000.00',
        postedDebits: '1000.00',
        postedCredits: '1000.00',
        pendingDebits: '250.00',
        pendingCredits: '250.00',
        balanced: true,
      },
      {
        currency: 'USD',
        debitBalance: '5.00',
        creditBalance: '5.00',
        postedDebits: '5.00',
        postedCredits: '5.00',
        pendingDebits: '0.00',
        pendingCredits: '0.00',
        balanced: true,
      },
    ]);
    expect(r.body.data.map((l: Line) => [l.code, l.debitBalance, l.creditBalance, l.pendingDebits, l.pendingCredits])).toEqual([
      ['card:EKCTB00001', '0.00', '0.00', '0.00', '250.00'],
      ['external:funding', '1000.00', '0.00', '0.00', '0.00'],
      ['external:usd', '5.00', '0.00', '0.00', '0.00'],
      ['income:fx', '0.00', '5.00', '0.00', '0.00'],
      ['parent:CATB', '0.00', '1000.00', '250.00', '0.00'],
    ]);
  });

  it('should answer as of a past moment, and with nothing before any account existed', async () => {
    const then = await ctx.app.api('GET', `/v1/reports/trial-balance?asOf=${afterFunding}`);
    expect(then.body.asOf).toBe(afterFunding);
    expect(then.body.data.map((l: Line) => [l.code, l.debitBalance, l.creditBalance])).toEqual([
      ['external:funding', '1000.00', '0.00'],
      ['external:usd', '0.00', '0.00'],
      ['income:fx', '0.00', '0.00'],
      ['parent:CATB', '0.00', '1000.00'],
    ]);
    expect(then.body.totals.map((x: { currency: string; debitBalance: string }) => [x.currency, x.debitBalance])).toEqual([
      ['INR', '1000.00'],
      ['USD', '0.00'],
    ]);
    const empty = await ctx.app.api('GET', `/v1/reports/trial-balance?asOf=${beforeAll_}`);
    expect(empty.body).toEqual({ asOf: beforeAll_, balanced: true, totals: [], data: [], nextCursor: null });
  });

  it('should keep the moment of the first page in its cursor, whatever is posted while paging', async () => {
    const first = await ctx.app.api('GET', '/v1/reports/trial-balance?limit=2');
    expect((await ctx.app.api('POST', '/v1/accounts', { body: { code: 'zz:late', currency: 'INR', normalSide: 'debit' } })).status).toBe(
      201,
    );
    expect((await postTransfer(ctx.app, 'late', 'zz:late', 'parent:CATB', '7.00')).status).toBe(201);
    const lines: Line[] = [...first.body.data];
    let cursor = first.body.nextCursor;
    while (cursor) {
      const page = await ctx.app.api('GET', `/v1/reports/trial-balance?limit=2&cursor=${cursor}`);
      expect([page.body.asOf, page.body.totals]).toEqual([first.body.asOf, first.body.totals]);
      lines.push(...page.body.data);
      cursor = page.body.nextCursor;
    }
    expect(lines.map((l) => l.code)).toEqual(['card:EKCTB00001', 'external:funding', 'external:usd', 'income:fx', 'parent:CATB']);
    expect(lines.find((l) => l.code === 'parent:CATB')!.creditBalance).toBe('1000.00');
    const now = await ctx.app.api('GET', '/v1/reports/trial-balance?limit=500');
    expect(now.body.totals[0]).toMatchObject({ debitBalance: '1007.00', creditBalance: '1007.00', balanced: true });
  });

  it('should answer CSV with the account lines and one total line per currency', async () => {
    const json = await ctx.app.api('GET', `/v1/reports/trial-balance?asOf=${afterFunding}`);
    const csv = await ctx.app.api('GET', `/v1/reports/trial-balance?asOf=${afterFunding}`, { headers: { accept: 'text/csv' } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = csvObjects(csv.text);
    expect(rows).toEqual([
      ...json.body.data.map((l: Record<string, unknown>) => ({
        line: 'account',
        ...Object.fromEntries(Object.entries(l).map(([k, v]) => [k, asCsvText(v)])),
      })),
      ...json.body.totals.map(({ balanced: _b, ...total }: Record<string, unknown>) => ({
        line: 'total',
        code: '',
        name: '',
        normalSide: '',
        ...total,
      })),
    ]);
    expect(rows.filter((r) => r.line === 'total')).toHaveLength(2);
  });

  it.each([
    ['asOf=yesterday', 'asOf'],
    ['asOf=2026-02-29T00:00:00Z', 'asOf'],
    ['limit=0', 'limit'],
    ['cursor=nope', 'cursor'],
    [`cursor=${encodeCursor(['2026-01-01T00:00:00.000Z', 'BAD CODE'])}`, 'cursor'],
    [`cursor=${encodeCursor(['2026-01-01T00:00:00.000Z', 'parent:CATB'])}&asOf=2026-01-02T00:00:00.000Z`, 'cursor'],
    ['format=xlsx', 'format'],
    ['currency=INR', 'currency'],
  ])('should refuse ?%s with a 400 naming %s', async (query, field) => {
    await expectGetRefused(ctx.app, `/v1/reports/trial-balance?${query}`, field);
  });

  it('should need ledger:read', async () => {
    const loader = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'loader', scopes: ['loads:write'] } })).body.key;
    const reader = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'auditor', scopes: ['ledger:read'] } })).body.key;
    expect((await ctx.app.api('GET', '/v1/reports/trial-balance', { key: loader })).status).toBe(403);
    expect((await ctx.app.api('GET', '/v1/reports/trial-balance', { key: reader })).status).toBe(200);
  });

  it('should answer one moment in its page and in every part of its totals while transfers commit between them', async () => {
    // The page and the totals' parts run on separate connections, each in its own snapshot (docs/design.md, "The
    // trial balance's totals in parts"): only the final cut makes them agree. Transfers between neighbouring accounts
    // (one odd id, one even) commit throughout.
    const codes = Array.from({ length: 6 }, (_, i) => `zc:part${i}`);
    for (const code of codes) {
      const body = { code, currency: 'INR', normalSide: 'debit' };
      expect((await ctx.app.api('POST', '/v1/accounts', { body })).status).toBe(201);
    }
    let writing = true;
    const writer = async (w: number) => {
      for (let i = 0; writing; i++) {
        const from = codes[(w + i) % codes.length];
        const to = codes[(w + i + 1) % codes.length];
        expect((await postTransfer(ctx.app, `part ${w}-${i}`, from, to, `${1 + (i % 9)}.00`)).status).toBe(201);
      }
    };
    const paise = (x: string) => BigInt(x.replace('.', ''));
    const sum = (lines: Array<Record<string, string>>, k: string) => lines.reduce((s, l) => s + paise(l[k]), 0n);
    const reader = async () => {
      for (let i = 0; i < 15; i++) {
        const r = await ctx.app.api('GET', '/v1/reports/trial-balance?limit=500');
        expect([r.status, r.body.nextCursor, r.body.balanced]).toEqual([200, null, true]);
        for (const t of r.body.totals) {
          const mine = r.body.data.filter((l: { currency: string }) => l.currency === t.currency);
          for (const k of ['debitBalance', 'creditBalance', 'postedDebits', 'postedCredits', 'pendingDebits', 'pendingCredits'])
            expect([t.currency, k, sum(mine, k)]).toEqual([t.currency, k, paise(t[k])]);
        }
      }
    };
    const writers = [0, 1, 2].map(writer);
    try {
      await Promise.all([reader(), reader()]);
    } finally {
      writing = false;
      await Promise.all(writers);
    }
  }, 60_000);
});
