import { encodeCursor } from '../../src/common/paging';
import { SealerService } from '../../src/ledger/sealer.service';
import { useTestApp } from '../support/app';
import { asCsvText, csvObjects } from '../support/csv';
import { ledgerViolations } from '../support/ledger-checks';
import { errorFields, expectGetRefused } from '../support/refusals';

type Entry = { accountCode: string; direction: 'debit' | 'credit'; amount: string | number; currency?: string };
type JournalTx = { id: string; kind: string; description: string; createdAt: string; metadata: Record<string, string>; entries: Entry[] };

const pair = (from: string, to: string, amount: string | number): Entry[] => [
  { accountCode: from, direction: 'debit', amount },
  { accountCode: to, direction: 'credit', amount },
];

describe('/v1/journal', () => {
  const ctx = useTestApp();
  beforeAll(async () => {
    for (const body of [
      { code: 'external:funding', currency: 'INR', normalSide: 'debit' },
      { code: 'external:usd', currency: 'USD', normalSide: 'debit' },
      { code: 'parent:CAJRNL', currency: 'INR', normalSide: 'credit', noOverdraft: true },
      { code: 'income:fx', currency: 'USD', normalSide: 'credit' },
    ])
      expect((await ctx.app.api('POST', '/v1/accounts', { body })).status).toBe(201);
  });

  const post = (body: unknown, headers: Record<string, string> = {}) => ctx.app.api('POST', '/v1/journal', { body, headers });
  const txCount = async () => (await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions`)).rows[0].n as number;

  it('should post a balanced manual transaction (201) and read it back with its entries and seal', async () => {
    const r = await post({
      description: 'fund parent',
      entries: pair('external:funding', 'parent:CAJRNL', '5000.00'),
      metadata: { ticket: 'OPS-1' },
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.any(String),
      kind: 'posted',
      pendingId: null,
      undoesId: null,
      description: 'fund parent',
      metadata: { ticket: 'OPS-1' },
      createdAt: expect.any(String),
      seal: null,
      entries: [
        { accountCode: 'external:funding', direction: 'debit', amount: '5000.00', currency: 'INR' },
        { accountCode: 'parent:CAJRNL', direction: 'credit', amount: '5000.00', currency: 'INR' },
      ],
    });
    await ctx.app.app.get(SealerService).sealPending();
    const read = await ctx.app.api('GET', `/v1/journal/${r.body.id}`);
    expect(read.body).toMatchObject({ ...r.body, seal: { seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect((await ctx.app.api('GET', '/v1/accounts/parent:CAJRNL')).body).toMatchObject({ posted: '5000.00', postedCredits: '5000.00' });
    const v = await ledgerViolations(ctx.db);
    expect([v.unbalancedTransactions, v.balancesDifferFromEntries, v.historyGaps, v.historyDiffersFromBalance]).toEqual([[], [], [], []]);
  });

  it('should post several currencies in one transaction when each balances', async () => {
    const r = await post({
      description: 'two books',
      entries: [...pair('external:funding', 'parent:CAJRNL', 1), ...pair('external:usd', 'income:fx', 0.5)],
    });
    expect(r.status).toBe(201);
    expect(r.body.entries.map((e: Entry) => [e.accountCode, e.amount, e.currency])).toEqual([
      ['external:funding', '1.00', 'INR'],
      ['parent:CAJRNL', '1.00', 'INR'],
      ['external:usd', '0.50', 'USD'],
      ['income:fx', '0.50', 'USD'],
    ]);
  });

  /** A valid body (1.00 from external:funding to the parent) with `change` made to its first entry. */
  const firstEntryWith = (change: Record<string, unknown>) => {
    const [debit, credit] = pair('external:funding', 'parent:CAJRNL', '1.00');
    return { description: 'x', entries: [{ ...debit, ...change }, credit] };
  };
  /** A body moving `amount` from external:funding to the parent. */
  const funding = (amount: string | number) => ({ description: 'x', entries: pair('external:funding', 'parent:CAJRNL', amount) });

  it.each([
    [
      'an unbalanced transaction',
      {
        description: 'x',
        entries: [
          { accountCode: 'external:funding', direction: 'debit', amount: '10.00' },
          { accountCode: 'parent:CAJRNL', direction: 'credit', amount: '9.99' },
        ],
      },
      'entries',
    ],
    [
      'a transaction balanced only across currencies',
      { description: 'x', entries: pair('external:funding', 'income:fx', '1.00') },
      'entries',
    ],
    ['an unknown account', { description: 'x', entries: pair('external:funding', 'parent:CANOWHERE', '1.00') }, 'entries.1.accountCode'],
    ['a card account', { description: 'x', entries: pair('external:funding', 'card:EKCJRNL001', '1.00') }, 'entries.1.accountCode'],
    ["a currency other than the account's", firstEntryWith({ currency: 'USD' }), 'entries.0.currency'],
    ['a made-up currency', firstEntryWith({ currency: 'ABC' }), 'entries.0.currency'],
    ['a missing description', { entries: pair('external:funding', 'parent:CAJRNL', '1.00') }, 'description'],
    ['a blank description', { ...funding('1.00'), description: '   ' }, 'description'],
    ['entries that are not a list', { description: 'x', entries: { a: 1 } }, 'entries'],
    ['one entry', { description: 'x', entries: pair('external:funding', 'parent:CAJRNL', '1.00').slice(0, 1) }, 'entries'],
    [
      '101 entries',
      { description: 'x', entries: Array.from({ length: 101 }, (_, i) => pair('external:funding', 'parent:CAJRNL', '1.00')[i % 2]) },
      'entries',
    ],
    ['an amount with 3 decimals', funding('1.001'), 'entries.0.amount'],
    ['a zero amount', funding(0), 'entries.0.amount'],
    ['a negative amount', funding('-1.00'), 'entries.0.amount'],
    ['an amount over MAX_JOURNAL_AMOUNT', funding('10000000000.01'), 'entries.0.amount'],
    ['an amount string without its two decimals', funding('15'), 'entries.0.amount'],
    ['an amount string with one decimal', funding('15.0'), 'entries.0.amount'],
    ['a bad direction', firstEntryWith({ direction: 'up' }), 'entries.0.direction'],
    ['a bad account code', firstEntryWith({ accountCode: 'Funding!' }), 'entries.0.accountCode'],
    ['an unknown entry field', firstEntryWith({ memo: 'x' }), 'entries.0.memo'],
    ['a client-supplied kind', { ...funding('1.00'), kind: 'pending' }, 'kind'],
    ['metadata with a number', { ...funding('1.00'), metadata: { n: 1 } }, 'metadata'],
  ])('should refuse %s with a 400 naming the field and write nothing', async (_name, body, field) => {
    const before = await txCount();
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(errorFields(r.body)).toContain(field);
    expect(await txCount()).toBe(before);
  });

  it('should say which side is larger, with a positive difference, when debits and credits differ', async () => {
    const more = async (debit: string, credit: string) =>
      (
        await post({
          description: 'x',
          entries: [
            { accountCode: 'external:funding', direction: 'debit', amount: debit },
            { accountCode: 'parent:CAJRNL', direction: 'credit', amount: credit },
          ],
        })
      ).body.error.details;
    const saying = (text: RegExp) => [{ field: 'entries', message: expect.stringMatching(text) }];
    expect(await more('10.00', '10.01')).toEqual(saying(/INR credits exceed debits by 0\.01$/));
    expect(await more('10.01', '10.00')).toEqual(saying(/INR debits exceed credits by 0\.01$/));
  });

  it('should refuse a transaction that overdraws a noOverdraft account with 422 and write nothing', async () => {
    const before = await txCount();
    const r = await post({ description: 'too much', entries: pair('parent:CAJRNL', 'external:funding', '5001.01') });
    expect([r.status, r.body.error.code]).toEqual([422, 'insufficient_funds']);
    expect(await txCount()).toBe(before);
    expect((await post({ description: 'all of it', entries: pair('parent:CAJRNL', 'external:funding', '5001.00') })).status).toBe(201);
  });

  it('should post at most once per Idempotency-Key, replaying the same request and refusing another', async () => {
    const body = {
      description: 'retried funding',
      entries: pair('external:funding', 'parent:CAJRNL', '10.00'),
      metadata: { a: '1', b: '2' },
    };
    const replies = await Promise.all(Array.from({ length: 5 }, () => post(body, { 'idempotency-key': 'fund-42' })));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(4);
    const reordered = await post({ ...body, metadata: { b: '2', a: '1' } }, { 'idempotency-key': 'fund-42' });
    expect(reordered.status).toBe(200);
    const other = await post({ ...body, entries: pair('external:funding', 'parent:CAJRNL', '11.00') }, { 'idempotency-key': 'fund-42' });
    expect([other.status, other.body.error.code]).toEqual([409, 'idempotency_key_reused']);
    expect(errorFields((await post(body, { 'idempotency-key': 'has space' })).body)).toEqual(['Idempotency-Key']);
    expect((await ctx.app.api('GET', '/v1/accounts/parent:CAJRNL')).body.posted).toBe('10.00');
  });

  it('should let only admin keys post, and ledger:read keys read', async () => {
    const reader = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'auditor', scopes: ['ledger:read'] } })).body.key;
    expect(
      (
        await ctx.app.api('POST', '/v1/journal', {
          key: reader,
          body: { description: 'x', entries: pair('external:funding', 'parent:CAJRNL', '1.00') },
        })
      ).status,
    ).toBe(403);
    expect((await ctx.app.api('GET', '/v1/journal', { key: reader })).status).toBe(200);
    expect((await ctx.app.api('GET', '/v1/journal', { key: null })).status).toBe(401);
  });

  it('should list oldest first with a cursor, kind and time filters, and as CSV with one line per entry', async () => {
    const tricky = ['say "hi"', 'a, b, c', 'line one\nline two', 'windows\r\nline', '"', ',', ' padded '];
    for (const d of tricky)
      expect((await post({ description: d, entries: pair('external:funding', 'parent:CAJRNL', '1.00') })).status).toBe(201);
    const all: JournalTx[] = (await ctx.app.api('GET', '/v1/journal?limit=500')).body.data;
    expect(all.map((x) => x.description).slice(-tricky.length)).toEqual(tricky);
    expect([...all].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))).toEqual(all);

    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await ctx.app.api('GET', `/v1/journal?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...r.body.data.map((x: JournalTx) => x.id));
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all.map((x) => x.id));

    const from = all[2].createdAt;
    const to = all[5].createdAt;
    const window: JournalTx[] = (await ctx.app.api('GET', `/v1/journal?from=${from}&to=${to}`)).body.data;
    expect(window.map((x) => x.id)).toEqual(all.filter((x) => x.createdAt >= from && x.createdAt < to).map((x) => x.id));
    expect((await ctx.app.api('GET', '/v1/journal?kind=pending')).body.data).toEqual([]);

    const csv = await ctx.app.api('GET', '/v1/journal?format=csv');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csvObjects(csv.text);
    expect(lines.map(({ sealSeq: _s, ...l }) => l)).toEqual(
      all.flatMap((x) =>
        x.entries.map((e) => ({
          transactionId: x.id,
          createdAt: x.createdAt,
          kind: x.kind,
          pendingId: '',
          undoesId: '',
          description: asCsvText(x.description),
          accountCode: e.accountCode,
          direction: e.direction,
          amount: e.amount,
          currency: e.currency,
          metadata: JSON.stringify(x.metadata),
        })),
      ),
    );
  });

  it.each([
    ['/v1/journal?limit=501', 'limit'],
    ['/v1/journal?cursor=!!', 'cursor'],
    [`/v1/journal?cursor=${encodeCursor(['2026-02-30T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000'])}`, 'cursor'],
    [`/v1/journal?cursor=${encodeCursor(['2026-03-01T00:00:00.000000Z', 'not-a-uuid'])}`, 'cursor'],
    [`/v1/journal?cursor=${encodeCursor(['0000-01-01T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000'])}`, 'cursor'],
    [`/v1/journal?cursor=${encodeCursor([1, 2])}`, 'cursor'],
    ['/v1/journal?from=2026-03-01T25:00:00Z', 'from'],
    ['/v1/journal?to=last-week', 'to'],
    ['/v1/journal?kind=refund', 'kind'],
    ['/v1/journal?accountCode=x', 'accountCode'],
    ['/v1/journal/not-a-uuid', 'id'],
  ])('should refuse %s with a 400 naming %s', async (path, field) => {
    await expectGetRefused(ctx.app, path, field);
  });

  it('should answer 404 for a journal transaction that does not exist', async () => {
    expect((await ctx.app.api('GET', '/v1/journal/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('/v1/journal at the edge of what the ledger can record', () => {
  // The highest MAX_JOURNAL_AMOUNT there is (2^53 - 1 paise): entries at that cap, 50 a side, add up past bigint.
  const ctx = useTestApp({ env: { MAX_JOURNAL_AMOUNT: '90071992547409.91' } });

  it("should answer 422 amount_out_of_range once an account's totals would overflow, never 500, and leave the ledger whole", async () => {
    for (const [code, normalSide] of [
      ['external:huge', 'debit'],
      ['liability:huge', 'credit'],
    ]) {
      expect((await ctx.app.api('POST', '/v1/accounts', { body: { code, currency: 'INR', normalSide } })).status).toBe(201);
    }
    const entries = Array.from({ length: 100 }, (_, i) => ({
      accountCode: i % 2 ? 'liability:huge' : 'external:huge',
      direction: i % 2 ? 'credit' : 'debit',
      amount: '90071992547409.91',
    }));
    const statuses: number[] = [];
    for (let i = 0; i < 25 && !statuses.includes(422); i++) {
      const r = await ctx.app.api('POST', '/v1/journal', { body: { description: `huge ${i}`, entries } });
      statuses.push(r.status);
      if (r.status === 422) expect(r.body.error.code).toBe('amount_out_of_range');
    }
    expect(statuses).toEqual([...Array(statuses.length - 1).fill(201), 422]);
    const small = { description: 'still fine', entries: pair('external:huge', 'liability:huge', '1.00') };
    expect((await ctx.app.api('POST', '/v1/journal', { body: small })).status).toBe(201);
    const v = await ledgerViolations(ctx.db);
    expect([v.unbalancedTransactions, v.balancesDifferFromEntries, v.historyGaps, v.historyDiffersFromBalance]).toEqual([[], [], [], []]);
  });
});
