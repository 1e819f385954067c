import { CsvColumns, csvOf, KeysetList, Page } from './csv';
import { badField } from './errors';
import { integerIn } from './integer';
import { Instant, parseInstant, realCalendar } from './instant';

/** `?limit=` 1..500, default 50 (API.md "Lists"). */
export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 50;
  const limit = integerIn(raw, 1, 500);
  if (limit === null) throw badField('limit', 'must be an integer from 1 to 500');
  return limit;
}

/** Opaque cursors: base64url JSON, checked for shape so a bad cursor is a 400, never a 500. */
export function encodeCursor(parts: Array<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** 'integer' is a non-negative safe integer (a sequence or a serial id), so it can never reach SQL as 1e+308. */
export function decodeCursor(raw: string | undefined, shape: Array<'string' | 'number' | 'integer'>): Array<string | number> | null {
  if (raw === undefined || raw === '') return null;
  try {
    if (!/^[A-Za-z0-9_-]{1,400}$/.test(raw)) throw new Error('charset');
    const parts: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    const fits = (p: unknown, t: 'string' | 'number' | 'integer') =>
      t === 'integer' ? Number.isSafeInteger(p) && (p as number) >= 0 : typeof p === t;
    if (!Array.isArray(parts) || parts.length !== shape.length || !parts.every((p, i) => fits(p, shape[i]))) throw new Error('shape');
    return parts as Array<string | number>;
  } catch {
    throw badCursor();
  }
}

export const badCursor = () => badField('cursor', 'is not a cursor this list issued');

/** A cursor part that must look like what the list wrote into it (checked here, not left to a SQL cast). */
export function checkCursorPart(ok: boolean): void {
  if (!ok) throw badCursor();
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Cursor form of a timestamptz: microseconds, so that keyset paging never skips rows within one millisecond. */
export const CURSOR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
export const cursorInstantSql = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;

/** A microsecond instant this service wrote into a cursor. */
export function checkCursorInstant(raw: string): void {
  const m = CURSOR_INSTANT.test(raw) ? ISO.exec(raw) : null;
  // Year 0000 passes a calendar check (Date.UTC reads it as 1900) and Postgres refuses it: the years parseDate allows.
  checkCursorPart(m !== null && +m[1] >= 1970 && realCalendar(+m[1], +m[2], +m[3], +m[4], +m[5], +m[6]));
}

/** A `from`/`to` pair (docs/time.md): from inclusive, to exclusive, to after from, at microsecond precision. */
export function parseRange(q: { from?: string; to?: string }): { from: Instant | null; to: Instant | null } {
  const from = parseInstant('from', q.from);
  const to = parseInstant('to', q.to);
  if (from && to && (to.ms < from.ms || (to.ms === from.ms && to.us <= from.us))) throw badField('to', 'must be later than from');
  return { from, to };
}

/** SQL for "at or before the cut" (docs/time.md): asOf includes everything with a time <= asOf, to the microsecond. */
export const atOrBeforeSql = (column: string, param: string) => `${column} <= ${param}::timestamptz`;

/**
 * One page from a store read that asked for one row more than the page (`limit + 1`): the rows as views, and the key
 * of the last one as the next cursor when that extra row came back.
 */
export function pageOf<R, T, C>(rows: R[], limit: number, view: (row: R) => T, keyOf: (row: T) => C): Page<T, C> {
  const page = rows.slice(0, limit).map(view);
  return { rows: page, next: rows.length > limit ? keyOf(page[page.length - 1]) : null };
}

/** How a list keyset-paged on one key reads: a store query after a key, the row's view, and the view's key. */
export interface KeyedRead<R, T, C> {
  read: (after: C | null, limit: number) => Promise<R[]>;
  view: (row: R) => T;
  key: (row: T) => C;
}

/**
 * A list keyset-paged on one unique, ordered key of its rows (a code, a sequence, a serial id): the cursor is the
 * key of a page's last row, so rows written while paging never shift a page.
 */
export function keyedList<R, T, C extends string | number>(
  start: C | null,
  limit: number,
  columns: CsvColumns<T>,
  { read, view, key }: KeyedRead<R, T, C>,
): KeysetList<T, C> {
  return {
    start,
    limit,
    csv: csvOf(columns),
    encode: (k) => encodeCursor([k]),
    fetch: async (after, n) => pageOf(await read(after, n), n, view, key),
  };
}
