import { badField } from './errors';

/** `?limit=` 1..500, default 50 (API.md "Lists"). */
export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 50;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 500) throw badField('limit', 'must be an integer from 1 to 500');
  return Number(raw);
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

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** True when the calendar fields exist: JavaScript would read 2026-02-30 as 2 March and 24:00 as the next day. */
function realCalendar(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): boolean {
  const probe = new Date(Date.UTC(y, mo - 1, d));
  return probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && h <= 23 && mi <= 59 && s <= 59;
}

/** ISO 8601 dates and times (a time without an offset is UTC); anything else is a 400 naming the field. */
export function parseDate(field: string, raw: string | undefined): Date | null {
  if (raw === undefined || raw === '') return null;
  const m = typeof raw === 'string' ? ISO.exec(raw) : null;
  const d = m ? new Date(m[4] !== undefined && m[7] === undefined ? `${raw}Z` : raw) : null;
  if (!m || !d || Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999
    || !realCalendar(+m[1], +m[2], +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0))) {
    throw badField(field, 'must be an ISO 8601 date or time, such as 2026-03-05T10:03:00Z');
  }
  return d;
}

/** A microsecond instant this service wrote into a cursor. */
export function checkCursorInstant(raw: string): void {
  const m = CURSOR_INSTANT.test(raw) ? ISO.exec(raw) : null;
  // Year 0000 passes a calendar check (Date.UTC reads it as 1900) and Postgres refuses it: the years parseDate allows.
  checkCursorPart(m !== null && +m[1] >= 1970 && realCalendar(+m[1], +m[2], +m[3], +m[4], +m[5], +m[6]));
}

/** A `from`/`to` pair: from inclusive, to exclusive, and to after from. */
export function parseRange(q: { from?: string; to?: string }): { from: Date | null; to: Date | null } {
  const from = parseDate('from', q.from);
  const to = parseDate('to', q.to);
  if (from && to && to.getTime() <= from.getTime()) throw badField('to', 'must be later than from');
  return { from, to };
}

/**
 * SQL for "at or before asOf": the API speaks milliseconds and the database keeps microseconds, so an
 * asOf names its whole millisecond. Copying a row's `at` into asOf then includes that row.
 */
export const atOrBeforeSql = (column: string, param: string) => `${column} < ${param}::timestamptz + interval '1 millisecond'`;
