import { StreamableFile } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { stringify, Options } from 'csv-stringify/sync';
import { assert } from './assert';

/**
 * CSV for auditors (API.md "CSV"): RFC 4180 fields, CRLF line ends, a header row, streamed page by page,
 * written by csv-stringify. Safe to open in a spreadsheet: a cell that starts like a formula (=, +, -, @, a tab
 * or a carriage return, or their full-width forms) gets a leading apostrophe, so a description such as
 * `=HYPERLINK(...)` written by any loads:write key is shown, never evaluated. A plain decimal number (a negative
 * amount, `-50.25`) is no formula and stays a number. JSON answers are unchanged.
 */
export type CsvValue = string | number | boolean | null | undefined;
export type CsvColumns<T> = ReadonlyArray<readonly [header: string, value: (row: T) => CsvValue]>;

/** The fields of a view that fit one CSV cell: plain values, and objects (metadata, evidence) written as JSON. */
type CsvField<T> = { [K in keyof T & string]: T[K] extends CsvValue | Readonly<Record<string, unknown>> ? K : never }[keyof T & string];

const csvCell = (value: unknown): CsvValue => (value !== null && typeof value === 'object' ? JSON.stringify(value) : (value as CsvValue));

/** Columns that are a view's own fields, each headed by its JSON name, in the order given; an object is one cell of JSON. */
export function fieldColumns<T>(...fields: Array<CsvField<T>>): CsvColumns<T> {
  return fields.map((field) => [field, (row: T) => csvCell(row[field])] as const);
}

/** Rows per query while streaming: the list maximum, so a page is never larger than a JSON page. */
export const CSV_PAGE_ROWS = 500;
/** Bound on the streaming loop (TigerBeetle style): 50 million rows is beyond any export we serve. */
const MAX_CSV_PAGES = 100_000;

const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;
const keepNumber = (value: string) => (value.startsWith('-') && PLAIN_NUMBER.test(value) ? { value, escape_formulas: false } : value);

const CSV_OPTIONS: Options = {
  record_delimiter: '\r\n',
  escape_formulas: true,
  // A lone CR or LF inside a field must be quoted too (csv-stringify quotes the record delimiter only).
  quoted_match: /[\r\n]/,
  cast: { string: keepNumber, number: (n) => keepNumber(String(n)), boolean: (b) => String(b) },
};

/** Lines of CSV for the given rows of values, each ending with CRLF. */
export function csvLines(rows: ReadonlyArray<readonly CsvValue[]>): string {
  return rows.length === 0
    ? ''
    : stringify(
        rows.map((r) => r.map((v) => (v === undefined ? null : v))),
        CSV_OPTIONS,
      );
}

export const csvLine = (values: readonly CsvValue[]): string => csvLines([values]);

/**
 * `?format=csv` decides when given; otherwise `Accept` must name text/csv and not rank it below JSON
 * (a browser's wildcard never turns a list into a download).
 */
export function wantsCsv(format: string | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  if (!accept) return false;
  const quality = (type: string): number => {
    for (const range of accept.toLowerCase().split(',')) {
      const [media, ...params] = range.split(';').map((s) => s.trim());
      if (media !== type) continue;
      const q = params.find((p) => p.startsWith('q='));
      const value = q ? Number(q.slice(2)) : 1;
      return Number.isFinite(value) ? value : 0;
    }
    return 0;
  };
  const csv = quality('text/csv');
  return csv > 0 && csv >= quality('application/json');
}

export interface Page<T, C> {
  rows: T[];
  next: C | null;
}

/** How rows become CSV lines: usually one line per row; a journal transaction becomes one line per entry. */
export interface CsvShape<T, L> {
  columns: CsvColumns<L>;
  lines(row: T): L[];
}

export const csvOf = <T>(columns: CsvColumns<T>): CsvShape<T, T> => ({ columns, lines: (row) => [row] });

/** A keyset-paged list, validated and ready: JSON answers one page, CSV streams them all. */
export interface KeysetList<T, C, L = T> {
  start: C | null;
  limit: number;
  fetch(cursor: C | null, limit: number): Promise<Page<T, C>>;
  encode(cursor: C): string;
  csv: CsvShape<T, L>;
  /** Lines appended after the last page (a report's totals). */
  trailer?: () => Promise<L[]>;
}

/**
 * The first page is read before the reply starts, so a failing query is still a JSON error; a failure
 * later aborts the connection (Fastify destroys it), which a client cannot mistake for a complete file.
 */
export async function csvStream<T, C, L>(list: KeysetList<T, C, L>): Promise<Readable> {
  const first = await list.fetch(list.start, CSV_PAGE_ROWS);
  // Later pages are read as the stream is drained, outside the request's async context unless bound to it: they must
  // read where the first did, under the same read plan (database/replica).
  const request = new AsyncResource('card-ledger.csv-export');
  const { columns } = list.csv;
  const values = (l: L) => columns.map(([, value]) => value(l));
  async function* lines(): AsyncGenerator<string> {
    yield csvLine(columns.map(([header]) => header));
    let page = first;
    for (let pages = 1; ; pages++) {
      assert(pages <= MAX_CSV_PAGES, 'a CSV export stays within its page bound');
      if (page.rows.length > 0) yield csvLines(page.rows.flatMap((row) => list.csv.lines(row)).map(values));
      if (page.next === null) break;
      const next = page.next;
      page = await request.runInAsyncScope(() => list.fetch(next, CSV_PAGE_ROWS));
    }
    const trailer = list.trailer;
    if (trailer) yield csvLines((await request.runInAsyncScope(() => trailer())).map(values));
  }
  return Readable.from(lines(), { objectMode: false });
}

/** What a list route answers: one JSON page, or the whole list as a CSV download. */
export async function answerList<T, C, L>(
  list: KeysetList<T, C, L>,
  csv: boolean,
  filename: string,
): Promise<{ data: T[]; nextCursor: string | null } | StreamableFile> {
  if (csv) {
    return new StreamableFile(await csvStream(list), {
      type: 'text/csv; charset=utf-8; header=present',
      disposition: `attachment; filename="${filename.replace(/[^A-Za-z0-9_.-]/g, '_')}"`,
    });
  }
  const page = await list.fetch(list.start, list.limit);
  return { data: page.rows, nextCursor: page.next === null ? null : list.encode(page.next) };
}
