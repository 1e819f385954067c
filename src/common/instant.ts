import { badField } from './errors';

/**
 * A moment at microsecond precision, the database's own (docs/time.md). A JavaScript Date keeps milliseconds
 * only, so a query's `asOf=…T10:00:00.123456Z` would silently become .123: an Instant keeps the digits, and
 * SQL receives its `iso` text (cast to timestamptz), never a Date.
 */
export interface Instant {
  /** UTC, always six fraction digits: `2026-03-05T10:03:00.123456Z`. */
  readonly iso: string;
  /** Milliseconds since the epoch, rounded down. */
  readonly ms: number;
  /** Microseconds after `ms` (0..999). */
  readonly us: number;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** True when the calendar fields exist: JavaScript would read 2026-02-30 as 2 March and 24:00 as the next day. */
export function realCalendar(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): boolean {
  const probe = new Date(Date.UTC(y, mo - 1, d));
  return probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && h <= 23 && mi <= 59 && s <= 59;
}

export function instantOf(ms: number, us = 0): Instant {
  const base = new Date(ms).toISOString(); // …HH:MM:SS.mmmZ
  return { iso: `${base.slice(0, -1)}${String(us).padStart(3, '0')}Z`, ms, us };
}

export const instantFromDate = (d: Date): Instant => instantOf(d.getTime());

/** The API's form: ISO 8601 UTC with milliseconds (API.md "Conventions"). */
export const msIso = (i: Instant): string => new Date(i.ms).toISOString();

/** One microsecond later: `t <= i` is `t < next(i)`, the bridge between an inclusive asOf and an exclusive `to`. */
export const nextMicro = (i: Instant): Instant => (i.us === 999 ? instantOf(i.ms + 1, 0) : instantOf(i.ms, i.us + 1));

/** One microsecond earlier: `t < i` is `t <= previous(i)`. */
export const previousMicro = (i: Instant): Instant => (i.us === 0 ? instantOf(i.ms - 1, 999) : instantOf(i.ms, i.us - 1));

/**
 * ISO 8601 dates and times with up to six fraction digits (a time without an offset is UTC); anything else,
 * or a year outside 1970..9999, is a 400 naming the field.
 */
export function parseInstant(field: string, raw: string | undefined): Instant | null {
  if (raw === undefined || raw === '') return null;
  const m = typeof raw === 'string' ? ISO.exec(raw) : null;
  const fraction = m?.[7] ?? '';
  // Milliseconds through Date (which applies the offset: offsets are whole minutes, so sub-ms digits never move).
  const withoutMicros = m ? raw.replace(/(\.\d{1,3})\d{0,3}/, '$1') : '';
  const d = m ? new Date(m[4] !== undefined && m[8] === undefined ? `${withoutMicros}Z` : withoutMicros) : null;
  if (
    !m ||
    !d ||
    Number.isNaN(d.getTime()) ||
    d.getUTCFullYear() < 1970 ||
    d.getUTCFullYear() > 9999 ||
    !realCalendar(+m[1], +m[2], +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0))
  ) {
    throw badField(field, 'must be an ISO 8601 date or time, such as 2026-03-05T10:03:00Z (up to six fraction digits)');
  }
  return instantOf(d.getTime(), Number(fraction.padEnd(6, '0').slice(3, 6)));
}
