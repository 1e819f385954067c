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

export function decodeCursor(raw: string | undefined, shape: Array<'string' | 'number'>): Array<string | number> | null {
  if (raw === undefined || raw === '') return null;
  try {
    if (!/^[A-Za-z0-9_-]{1,400}$/.test(raw)) throw new Error('charset');
    const parts: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (!Array.isArray(parts) || parts.length !== shape.length || !parts.every((p, i) => typeof p === shape[i])) throw new Error('shape');
    return parts as Array<string | number>;
  } catch {
    throw badField('cursor', 'is not a cursor this list issued');
  }
}

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** ISO 8601 dates and times; anything else is a 400 naming the field. */
export function parseDate(field: string, raw: string | undefined): Date | null {
  if (raw === undefined || raw === '') return null;
  const d = new Date(raw);
  if (!ISO.test(raw) || Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999) {
    throw badField(field, 'must be an ISO 8601 date or time, such as 2026-03-05T10:03:00Z');
  }
  return d;
}
