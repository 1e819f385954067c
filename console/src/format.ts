/**
 * Display only: the API's own strings, made readable. Amounts and times are never recomputed here; an ISO time
 * is shown as the API wrote it (UTC, milliseconds), with a space for the T.
 */
export const time = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace('Z', ' UTC') : '—');

export const money = (amount: string | null | undefined, currency?: string) =>
  amount == null ? '—' : `${amount}${currency ? ` ${currency}` : ''}`;

/** How long ago, for a queue's "age" column: "3 d 4 h", "12 min", "40 s". */
export function age(iso: string, nowMs = Date.now()): string {
  const s = Math.max(0, Math.floor((nowMs - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export const shortId = (id: string | null | undefined) => (id ? id.slice(0, 8) : '—');

/** `2026-03-05T10:03` style text for a datetime input, from ISO (UTC, as the console shows every time). */
export const toInput = (iso: string | null) => (iso ? iso.slice(0, 23) : '');

/** A time typed by an operator (UTC unless it names an offset), as the API's ISO form; null when unparsable. */
export function fromInput(text: string): string | null {
  const t = text.trim();
  if (!t) return null;
  const withZone = /([zZ]|[+-]\d{2}:?\d{2})$/.test(t) || !t.includes('T') ? t : `${t}Z`;
  const ms = Date.parse(withZone.includes('T') ? withZone : `${withZone}T00:00:00Z`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
