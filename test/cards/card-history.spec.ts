import { inTransaction } from '../../src/database/transaction';
import { LedgerService } from '../../src/ledger/ledger.service';
import { encodeCursor } from '../../src/common/paging';
import { useTestApp } from '../support/app';
import { asCsvText, csvObjects } from '../support/csv';
import { expectGetRefused } from '../support/refusals';

type Row = {
  seq: number;
  at: string;
  event: string;
  amount: string;
  pendingBalance: string;
  postedBalance: string;
  description: string | null;
};

const CARD = 'EKCHIST001';
const tick = () => new Promise((r) => setTimeout(r, 3)); // events at least a millisecond apart, the API's resolution

describe('GET /v1/cards/{id}/history and balance as of a moment', () => {
  const ctx = useTestApp({ db: false });
  let ledger: LedgerService;
  let history: Row[];
  let openedAt: Date;

  const pending = (amount: bigint, description: string) =>
    inTransaction(ctx.app.ds, (m) =>
      ledger.createTransfer(m, {
        kind: 'pending',
        event: 'load_pending',
        description,
        entries: [
          { accountCode: 'parent:CAHIST', direction: 'debit', amount, currency: 'INR' },
          { accountCode: `card:${CARD}`, direction: 'credit', amount, currency: 'INR' },
        ],
      }),
    );

  beforeAll(async () => {
    ledger = ctx.app.app.get(LedgerService);
    const accounts = await inTransaction(ctx.app.ds, (m) =>
      ledger.ensureAccounts(m, [
        { code: 'parent:CAHIST', currency: 'INR', normalSide: 'credit' },
        { code: `card:${CARD}`, currency: 'INR', normalSide: 'credit' },
      ]),
    );
    openedAt = accounts.get(`card:${CARD}`)!.createdAt;
    await tick();
    const a = await pending(10_000n, 'load A, "March" meal');
    await tick();
    const b = await pending(5_025n, 'load B,\nsecond line');
    await tick();
    const postedA = await inTransaction(ctx.app.ds, (m) => ledger.postPending(m, a.id, 'load_posted', null));
    await tick();
    await inTransaction(ctx.app.ds, (m) => ledger.voidPending(m, b.id, 'load_reversed', null));
    await tick();
    const c = await pending(1_000n, 'load C');
    await tick();
    await inTransaction(ctx.app.ds, (m) => ledger.postPending(m, c.id, 'load_posted', null));
    await tick();
    await inTransaction(ctx.app.ds, (m) => ledger.undoPosted(m, postedA.id, 'load_undone', null, 'EnKash reported A reversed'));
    history = (await ctx.app.api('GET', `/v1/cards/${CARD}/history`)).body.data;
  });

  it('should read back every balance change with exact running balances', () => {
    expect(history.map((r) => [r.seq, r.event, r.amount, r.pendingBalance, r.postedBalance])).toEqual([
      [1, 'load_pending', '100.00', '100.00', '0.00'],
      [2, 'load_pending', '50.25', '150.25', '0.00'],
      [3, 'load_posted', '100.00', '50.25', '100.00'],
      [4, 'load_reversed', '-50.25', '0.00', '100.00'],
      [5, 'load_pending', '10.00', '10.00', '100.00'],
      [6, 'load_posted', '10.00', '0.00', '110.00'],
      [7, 'load_undone', '-100.00', '0.00', '10.00'],
    ]);
    expect(history[1].description).toBe('load B,\nsecond line');
  });

  it('should give, as of each event and any moment between two events, the balances of that moment', async () => {
    const balanceAt = async (asOf: Date | string) =>
      (await ctx.app.api('GET', `/v1/cards/${CARD}/balance?asOf=${typeof asOf === 'string' ? asOf : asOf.toISOString()}`)).body;
    for (const [i, row] of history.entries()) {
      // The row's own `at` (milliseconds) names the millisecond the change happened in, so it includes it.
      expect(await balanceAt(row.at)).toMatchObject({ pending: row.pendingBalance, posted: row.postedBalance, asOf: row.at });
      const next = history[i + 1];
      if (next) {
        const between = new Date((Date.parse(row.at) + Date.parse(next.at)) / 2);
        if (between.getTime() > Date.parse(row.at)) {
          expect(await balanceAt(between)).toMatchObject({ pending: row.pendingBalance, posted: row.postedBalance });
        }
        expect(await balanceAt(new Date(Date.parse(next.at) - 1))).toMatchObject({
          pending: row.pendingBalance,
          posted: row.postedBalance,
        });
      }
    }
    expect(await balanceAt(openedAt)).toMatchObject({ pending: '0.00', posted: '0.00' });
    expect((await ctx.app.api('GET', `/v1/cards/${CARD}/balance?asOf=${new Date(openedAt.getTime() - 1).toISOString()}`)).status).toBe(404);
    expect(await balanceAt(new Date(Date.now() + 60_000))).toMatchObject({ pending: '0.00', posted: '10.00' });
  });

  it('should page with a cursor and filter by from (inclusive) and to (exclusive)', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await ctx.app.api('GET', `/v1/cards/${CARD}/history?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...r.body.data.map((x: Row) => x.seq));
      cursor = r.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);

    const window = await ctx.app.api('GET', `/v1/cards/${CARD}/history?from=${history[2].at}&to=${history[5].at}`);
    expect(window.body.data.map((x: Row) => x.seq)).toEqual([3, 4, 5]);
    const first = await ctx.app.api('GET', `/v1/cards/${CARD}/history?from=${history[2].at}&to=${history[5].at}&limit=2`);
    const rest = await ctx.app.api(
      'GET',
      `/v1/cards/${CARD}/history?from=${history[2].at}&to=${history[5].at}&cursor=${first.body.nextCursor}`,
    );
    expect([...first.body.data, ...rest.body.data].map((x: Row) => x.seq)).toEqual([3, 4, 5]);
    expect(rest.body.nextCursor).toBeNull();
  });

  it('should answer CSV (Accept or format) that parses back to the JSON rows', async () => {
    const asks: Array<{ path: string; headers: Record<string, string> }> = [
      { path: '?format=csv', headers: {} },
      { path: '', headers: { accept: 'text/csv' } },
    ];
    for (const opts of asks) {
      const r = await ctx.app.api('GET', `/v1/cards/${CARD}/history${opts.path}`, { headers: opts.headers });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(r.headers.get('content-disposition')).toMatch(/attachment/);
      const rows = csvObjects(r.text);
      expect(rows).toEqual(history.map((h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, asCsvText(v)]))));
    }
    const browser = await ctx.app.api('GET', `/v1/cards/${CARD}/history`, { headers: { accept: 'text/html,*/*;q=0.8' } });
    expect(browser.headers.get('content-type')).toMatch(/json/);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['cursor=%%%', 'cursor'],
    ['cursor=bm90LWpzb24', 'cursor'],
    [`cursor=${encodeCursor(['7'])}`, 'cursor'],
    [`cursor=${Buffer.from('[1e308]').toString('base64url')}`, 'cursor'],
    [`cursor=${encodeCursor([-1])}`, 'cursor'],
    [`cursor=${encodeCursor([1.5])}`, 'cursor'],
    ['from=yesterday', 'from'],
    ['to=2026-02-30', 'to'],
    ['from=2026-03-05T10:00:00Z&to=2026-03-05T09:00:00Z', 'to'],
    ['format=xml', 'format'],
    ['colour=blue', 'colour'],
  ])('should refuse history?%s with a 400 naming %s', async (query, field) => {
    const r = await expectGetRefused(ctx.app, `/v1/cards/${CARD}/history?${query}`, field);
    expect(r.body.error.code).toBe('validation_failed');
  });

  it.each([
    ['asOf=2026-02-30T00:00:00Z', 'asOf'],
    ['asOf=2026-03-05T24:00:00Z', 'asOf'],
    ['asOf=1e12', 'asOf'],
    ['asOf=x&asOf=y', 'asOf'],
  ])('should refuse balance?%s with a 400 naming %s', async (query, field) => {
    await expectGetRefused(ctx.app, `/v1/cards/${CARD}/balance?${query}`, field);
  });

  it('should answer 404 for the history of an unknown card and 403 to a key without ledger:read', async () => {
    expect((await ctx.app.api('GET', '/v1/cards/EKCNONE001/history')).status).toBe(404);
    const loader = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'loader', scopes: ['loads:write'] } })).body.key;
    expect((await ctx.app.api('GET', `/v1/cards/${CARD}/history`, { key: loader })).status).toBe(403);
  });
});
