import { Client } from 'pg';
import { useTestApp } from '../support/app';
import { ledgerViolations } from '../support/ledger-checks';

const valid = { enKashCardId: 'EKCMB7KAEW', amount: '1500.00' };

async function rowCounts(c: Client) {
  const { rows } = await c.query(`SELECT (SELECT count(*) FROM card_loads) AS loads, (SELECT count(*) FROM journal_entries) AS entries,
    (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM sync_jobs) AS jobs,
    (SELECT count(*) FROM account_history) AS history`);
  return rows[0];
}

describe('POST /v1/card-loads bad input', () => {
  const ctx = useTestApp();

  const cases: Array<
    [string, { body?: unknown; raw?: string; headers?: Record<string, string>; noKey?: boolean }, number, string, string?]
  > = [
    ['wrong JSON', { raw: '{"enKashCardId": "EKCMB7KAEW", "amount": ' }, 400, 'validation_failed', 'body'],
    ['duplicate keys', { raw: '{"enKashCardId":"EKCMB7KAEW","amount":"1.00","amount":"2.00"}' }, 400, 'validation_failed', 'body'],
    ['a JSON array', { body: [valid] }, 400, 'validation_failed'],
    [
      'wrong content type',
      { raw: 'enKashCardId=EKCMB7KAEW&amount=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported_media_type',
    ],
    ['text/plain', { raw: JSON.stringify(valid), headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
    ['an oversized body', { body: { ...valid, description: 'x'.repeat(1_100_000) } }, 413, 'payload_too_large'],
    ['an unknown field', { body: { ...valid, colour: 'blue' } }, 400, 'validation_failed', 'colour'],
    ['a client-supplied status', { body: { ...valid, status: 'posted' } }, 400, 'validation_failed', 'status'],
    ['amount with 3 decimals (string)', { body: { ...valid, amount: '1.001' } }, 400, 'validation_failed', 'amount'],
    ['an amount string without decimals', { body: { ...valid, amount: '15' } }, 400, 'validation_failed', 'amount'],
    ['an amount string with one decimal', { body: { ...valid, amount: '15.0' } }, 400, 'validation_failed', 'amount'],
    ['an amount string with a leading zero', { body: { ...valid, amount: '015.00' } }, 400, 'validation_failed', 'amount'],
    ['amount with 3 decimals (number)', { raw: '{"enKashCardId":"EKCMB7KAEW","amount":1.001}' }, 400, 'validation_failed', 'amount'],
    ['zero', { body: { ...valid, amount: '0.00' } }, 400, 'validation_failed', 'amount'],
    ['zero as number', { body: { ...valid, amount: 0 } }, 400, 'validation_failed', 'amount'],
    ['negative', { body: { ...valid, amount: '-5.00' } }, 400, 'validation_failed', 'amount'],
    ['negative number', { body: { ...valid, amount: -5 } }, 400, 'validation_failed', 'amount'],
    ['exponent notation (number)', { raw: '{"enKashCardId":"EKCMB7KAEW","amount":1.5e3}' }, 400, 'validation_failed', 'amount'],
    ['exponent notation (string)', { body: { ...valid, amount: '1.5e3' } }, 400, 'validation_failed', 'amount'],
    ['beyond the per-load maximum', { body: { ...valid, amount: '200000.01' } }, 400, 'validation_failed', 'amount'],
    ['a number beyond 2^53', { raw: '{"enKashCardId":"EKCMB7KAEW","amount":9007199254740993}' }, 400, 'validation_failed', 'amount'],
    ['amount as a boolean', { body: { ...valid, amount: true } }, 400, 'validation_failed', 'amount'],
    ['missing amount', { body: { enKashCardId: 'EKCMB7KAEW' } }, 400, 'validation_failed', 'amount'],
    ['missing card', { body: { amount: '1.00' } }, 400, 'validation_failed', 'enKashCardId'],
    ['an unknown currency', { body: { ...valid, currency: 'USD' } }, 400, 'validation_failed', 'currency'],
    ['a made-up currency', { body: { ...valid, currency: 'XYZ1' } }, 400, 'validation_failed', 'currency'],
    ['a bad card id', { body: { ...valid, enKashCardId: 'EKC<script>' } }, 400, 'validation_failed', 'enKashCardId'],
    ['a card id as number', { body: { ...valid, enKashCardId: 12345 } }, 400, 'validation_failed', 'enKashCardId'],
    ['a bad company id', { body: { ...valid, companyId: 'acme' } }, 400, 'validation_failed', 'companyId'],
    ['a bad card account id', { body: { ...valid, cardAccountId: 'x y' } }, 400, 'validation_failed', 'cardAccountId'],
    ['metadata with a number', { body: { ...valid, metadata: { a: 1 } } }, 400, 'validation_failed', 'metadata'],
    [
      'metadata with 21 pairs',
      { body: { ...valid, metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) } },
      400,
      'validation_failed',
      'metadata',
    ],
    ['a too long description', { body: { ...valid, description: 'd'.repeat(256) } }, 400, 'validation_failed', 'description'],
    ['a missing Idempotency-Key', { body: valid, headers: { 'idempotency-key': '' } }, 400, 'validation_failed', 'Idempotency-Key'],
    ['a bad Idempotency-Key', { body: valid, headers: { 'idempotency-key': 'has space' } }, 400, 'validation_failed', 'Idempotency-Key'],
    [
      'a too long Idempotency-Key',
      { body: valid, headers: { 'idempotency-key': 'k'.repeat(256) } },
      400,
      'validation_failed',
      'Idempotency-Key',
    ],
    ['a __proto__ key', { raw: '{"enKashCardId":"EKCMB7KAEW","amount":"1.00","__proto__":{"x":1}}' }, 400, 'validation_failed'],
    [
      'a __proto__ key spelled with escapes',
      { raw: '{"enKashCardId":"EKCMB7KAEW","amount":"1.00","\\u005f_proto__":{"x":1}}' },
      400,
      'validation_failed',
    ],
    [
      'a constructor key spelled with escapes in metadata',
      { raw: '{"enKashCardId":"EKCMB7KAEW","amount":"1.00","metadata":{"const\\u0072uctor":"x"}}' },
      400,
      'validation_failed',
    ],
    ['an empty body', { raw: '', headers: { 'content-type': 'application/json' } }, 400, 'validation_failed'],
    ['no API key', { body: valid, noKey: true }, 401, 'unauthorized'],
  ];

  it.each(cases.map(([name, input, status, code, field]) => ({ name, input, status, code, field })))(
    'should refuse $name with $status and write nothing',
    async ({ input, status, code, field }) => {
      const before = await rowCounts(ctx.db);
      const headers: Record<string, string> = { 'idempotency-key': `bad-${Math.random().toString(36).slice(2)}`, ...(input.headers ?? {}) };
      if (headers['idempotency-key'] === '') delete headers['idempotency-key'];
      if (input.raw !== undefined) headers['content-type'] ??= 'application/json';
      const res = await ctx.app.api('POST', '/v1/card-loads', {
        key: input.noKey ? null : undefined,
        body: input.body,
        rawBody: input.raw,
        headers,
      });
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(typeof res.body.error.message).toBe('string');
      expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
      if (field) expect(JSON.stringify(res.body.error)).toContain(field);
      expect(await rowCounts(ctx.db)).toEqual(before);
    },
  );

  it('should accept an amount as a JSON number with no, one or two decimals', async () => {
    for (const [amount, shown] of [
      [1500.5, '1500.50'],
      [15, '15.00'],
      [15.25, '15.25'],
    ] as const) {
      const headers = { 'idempotency-key': `num-ok-${amount}` };
      const res = await ctx.app.api('POST', '/v1/card-loads', { body: { ...valid, amount }, headers });
      expect([res.status, res.body.amount]).toEqual([201, shown]);
    }
  });

  it('should answer 400 for bad list filters and cursors, never 500', async () => {
    for (const q of [
      'limit=0',
      'limit=501',
      'limit=abc',
      'cursor=@@',
      'cursor=eyJ4IjoxfQ',
      'createdFrom=yesterday',
      'status=done',
      `cursor=${Buffer.from(JSON.stringify(['not-a-date', 'x'])).toString('base64url')}`,
      // Text Postgres would read as a timestamp (or fail on): only the form the list writes is a cursor.
      ...[
        'infinity',
        'epoch',
        'J2451187',
        '2026-03-05 10:03:00 PST',
        '2026-03-05T10:03:00Z',
        '0000-01-01T00:00:00.000000Z',
        '2026-02-30T00:00:00.000000Z',
      ].map((at) => `cursor=${Buffer.from(JSON.stringify([at, '0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60'])).toString('base64url')}`),
      `cursor=${Buffer.from(JSON.stringify(['2026-03-05T10:03:00.000000Z', 'not-a-uuid'])).toString('base64url')}`,
    ]) {
      const res = await ctx.app.api('GET', `/v1/card-loads?${q}`);
      expect([q, res.status]).toEqual([q, 400]);
    }
    expect((await ctx.app.api('GET', '/v1/card-loads/not-a-uuid')).status).toBe(404);
    expect((await ctx.app.api('GET', '/v1/card-loads/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });
});

describe('POST /v1/card-loads/batch at the edge of what the ledger can record', () => {
  // The highest MAX_LOAD_AMOUNT there is (2^53 - 1 paise): 1,024 such loads fill the parent's bigint pending debits.
  const ctx = useTestApp({ env: { MAX_LOAD_AMOUNT: '90071992547409.91' } });

  it("should refuse loads that would overflow their parent's totals (422 amount_out_of_range), create the others, never 500", async () => {
    const statuses: number[] = [];
    for (let from = 0; from < 1100; from += 550) {
      const loads = Array.from({ length: 550 }, (_, i) => ({
        idempotencyKey: `huge-${from + i}`,
        enKashCardId: `EKCH${String(from + i).padStart(6, '0')}`,
        amount: '90071992547409.91',
      }));
      const res = await ctx.app.api('POST', '/v1/card-loads/batch', { body: { loads } });
      expect(res.status).toBe(200);
      for (const r of res.body.results as Array<{ status: number; error?: { code: string } }>) {
        statuses.push(r.status);
        if (r.status === 422) expect(r.error!.code).toBe('amount_out_of_range');
      }
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(1024);
    expect(statuses.filter((s) => s === 422)).toHaveLength(1100 - 1024);
    expect((await ctx.db.query(`SELECT count(*)::int AS n FROM card_loads`)).rows[0].n).toBe(1024);
    const v = await ledgerViolations(ctx.db);
    expect([v.unbalancedTransactions, v.balancesDifferFromEntries, v.historyGaps, v.historyDiffersFromBalance]).toEqual([[], [], [], []]);
  });
});
