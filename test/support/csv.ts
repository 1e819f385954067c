/**
 * A strict RFC 4180 reader for tests, written independently of src/common/csv.ts so that a round trip
 * checks the writer against the standard rather than against itself. Throws on anything malformed.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let fieldStarted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i += 1;
        continue;
      }
      field += c;
      i += 1;
      continue;
    }
    if (c === '"') {
      if (fieldStarted) throw new Error(`stray quote at ${i}`);
      quoted = true;
      fieldStarted = true;
      i += 1;
      continue;
    }
    if (c === ',') {
      row.push(field);
      field = '';
      fieldStarted = false;
      i += 1;
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStarted = false;
      i += 2;
      continue;
    }
    if (c === '\n' || c === '\r') throw new Error(`bare line break at ${i}`);
    if (fieldStarted && text[i - 1] === '"') throw new Error(`text after closing quote at ${i}`);
    field += c;
    fieldStarted = true;
    i += 1;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (fieldStarted || row.length > 0) throw new Error('last line lacks CRLF');
  return rows;
}

/** Header + rows → objects, checking every row has the header's width. */
export function csvObjects(text: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(text);
  return rows.map((r) => {
    if (r.length !== header.length) throw new Error(`row of ${r.length} fields under a header of ${header.length}`);
    return Object.fromEntries(header.map((h, i) => [h, r[i]]));
  });
}

/**
 * What a JSON value looks like once written to CSV: null is an empty field, everything else its text, and text a
 * spreadsheet would evaluate (starting with = + - @ TAB CR, or their full-width forms) behind an apostrophe,
 * unless it is a plain number.
 */
export const asCsvText = (v: unknown): string => {
  const text = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(text) && !/^-\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
};
