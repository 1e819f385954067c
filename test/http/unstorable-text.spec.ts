import { useTestApp } from '../support/app';

const NUL = 'a\u0000b';
const HIGH = 'x\ud800y';
const LOW = '\udc00';
const ID = '0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60';
const LOAD = { enKashCardId: 'EKCMB7KAEW', amount: '10.00' };
const pair = [
  { accountCode: 'external:text', direction: 'debit', amount: '1.00' },
  { accountCode: 'parent:CATEXT', direction: 'credit', amount: '1.00' },
];

/** [route, body or null, the field the 400 must name]; a NUL or a lone surrogate in each text a route takes. */
const CASES: Array<[string, unknown, string]> = [
  ['POST /v1/card-loads', { ...LOAD, description: NUL }, 'description'],
  ['POST /v1/card-loads', { ...LOAD, remarks: HIGH }, 'remarks'],
  ['POST /v1/card-loads', { ...LOAD, metadata: { invoiceId: NUL } }, 'metadata.invoiceId'],
  ['POST /v1/card-loads', { ...LOAD, metadata: { [NUL]: 'x' } }, `metadata.${NUL}`],
  ['POST /v1/card-loads', { ...LOAD, description: LOW }, 'description'],
  ['POST /v1/card-loads', { ...LOAD, enKashCardId: `EKC${NUL}` }, 'enKashCardId'],
  ['POST /v1/api-keys', { name: NUL, scopes: ['ledger:read'] }, 'name'],
  ['POST /v1/accounts', { code: 'external:nul', currency: 'INR', normalSide: 'debit', name: HIGH }, 'name'],
  ['POST /v1/journal', { description: NUL, entries: pair }, 'description'],
  ['POST /v1/journal', { description: 'ok', entries: pair, metadata: { ref: LOW } }, 'metadata.ref'],
  ['POST /v1/journal', { description: 'ok', entries: [{ ...pair[0], accountCode: `external:${NUL}` }, pair[1]] }, 'entries.0.accountCode'],
  ['POST /v1/webhooks', { url: `https://example.com/${NUL}`, events: ['card_load.posted'] }, 'url'],
  ['POST /v1/webhooks', { url: `https://example.com/${HIGH}`, events: ['card_load.posted'] }, 'url'],
  [`POST /v1/card-loads/${ID}/resolve`, { outcome: 'posted', reason: NUL }, 'reason'],
  [`POST /v1/card-loads/${ID}/undo`, { reason: HIGH }, 'reason'],
  ['GET /v1/card-loads?enKashCardId=EKC%00', null, 'enKashCardId'],
  ['GET /v1/card-loads?createdFrom=2026%00', null, 'createdFrom'],
  ['GET /v1/accounts?namespace=%00', null, 'namespace'],
  ['GET /v1/accounts/external:a%00b', null, 'code'],
  ['GET /v1/accounts/external:a/entries?cursor=%00', null, 'cursor'],
  ['GET /v1/cards/EKC%00/balance', null, 'enKashCardId'],
  ['GET /v1/cards/EKCMB7KAEW/history?from=%00', null, 'from'],
  ['GET /v1/journal?kind=%00', null, 'kind'],
  [`GET /v1/journal/${ID}%00`, null, 'id'],
  ['GET /v1/reports/trial-balance?asOf=%00', null, 'asOf'],
  ['GET /v1/reports/reconciliation?runId=%00', null, 'runId'],
  [`GET /v1/webhooks/${ID}%00`, null, 'id'],
  [`GET /v1/webhooks/${ID}/deliveries?status=%00`, null, 'status'],
];

describe('text the database cannot store', () => {
  const ctx = useTestApp();
  beforeAll(async () => {
    for (const [code, normalSide] of [
      ['external:text', 'debit'],
      ['parent:CATEXT', 'credit'],
    ]) {
      expect((await ctx.app.api('POST', '/v1/accounts', { body: { code, currency: 'INR', normalSide } })).status).toBe(201);
    }
  });
  const rows = async () =>
    (
      await ctx.db.query(`SELECT (SELECT count(*) FROM card_loads) + (SELECT count(*) FROM api_keys)
    + (SELECT count(*) FROM accounts) + (SELECT count(*) FROM journal_transactions) + (SELECT count(*) FROM webhook_subscriptions) AS n`)
    ).rows[0].n;

  it.each(CASES.map(([route, body, field]) => ({ route, body, field })))(
    'should answer $route with 400 naming $field, writing nothing',
    async ({ route, body, field }) => {
      const [method, path] = route.split(' ');
      const before = await rows();
      const headers = { 'idempotency-key': `text-${Math.random().toString(36).slice(2)}` };
      const res = await ctx.app.api(method, path, { body: body ?? undefined, headers });
      expect([res.status, res.body.error.details]).toEqual([400, [{ field, message: expect.stringContaining('NUL') }]]);
      expect(await rows()).toBe(before);
    },
  );

  it('should answer the bad items of a batch with their own 400 and create the others', async () => {
    const res = await ctx.app.api('POST', '/v1/card-loads/batch', {
      body: {
        loads: [
          { ...LOAD, idempotencyKey: 'text-batch-0' },
          { ...LOAD, idempotencyKey: 'text-batch-1', description: NUL },
          { ...LOAD, idempotencyKey: 'text-batch-2', metadata: { ok: 'yes' } },
          { ...LOAD, idempotencyKey: 'text-batch-3', metadata: { k: HIGH } },
          { ...LOAD, idempotencyKey: 'text-batch-4', remarks: LOW, description: NUL },
        ],
      },
    });
    expect(res.status).toBe(200);
    const results = res.body.results as Array<{ status: number; error?: { details: Array<{ field: string }> } }>;
    expect(results.map((r) => r.status)).toEqual([201, 400, 201, 400, 400]);
    expect(results.filter((r) => r.error).map((r) => r.error!.details.map((d) => d.field))).toEqual([
      ['loads.1.description'],
      ['loads.3.metadata.k'],
      ['loads.4.remarks', 'loads.4.description'],
    ]);
    const { rows: created } = await ctx.db.query(
      `SELECT idempotency_key FROM card_loads WHERE idempotency_key LIKE 'text-batch-%' ORDER BY 1`,
    );
    expect(created.map((r) => r.idempotency_key)).toEqual(['text-batch-0', 'text-batch-2']);
  });

  it('should keep a well-formed surrogate pair (an emoji) as sent', async () => {
    const res = await ctx.app.api('POST', '/v1/card-loads', {
      body: { ...LOAD, description: 'bonus 🎉' },
      headers: { 'idempotency-key': 'text-emoji' },
    });
    expect([res.status, res.body.description]).toEqual([201, 'bonus 🎉']);
  });
});
