/**
 * The one parser of integers written as text (query parameters): plain decimal digits, no sign, exponent,
 * fraction or spaces, within [min, max]. Null for anything else, for the caller to refuse naming its field.
 * (Number() alone would take "", "1e3", "0x10" and " 7 ".)
 */
export function integerIn(raw: string, min: number, max: number): number | null {
  if (!/^\d+$/.test(raw)) return null;
  const n = Number(raw);
  return n >= min && n <= max ? n : null;
}
