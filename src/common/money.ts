/**
 * Money is bigint paise end to end. The API speaks decimal strings with two fraction digits; requests may
 * also send a JSON number with at most two decimals; the body parser (http/json-body.ts) turns any number
 * it cannot hold exactly (exponent notation, 3+ decimals, beyond 15 digits) into NaN, refused here.
 */
export type AmountParse = { ok: true; value: bigint } | { ok: false; message: string };

/** A request amount as a string: exactly two fraction digits, as every amount this API answers (API.md "Conventions"). */
const AMOUNT_STRING = /^(0|[1-9]\d*)\.\d{2}$/;
/** Zero to two fraction digits: a JSON number's own text, and the configured MAX_LOAD_AMOUNT. */
const DECIMAL = /^(0|[1-9]\d*)(\.\d{1,2})?$/;
/** Above this no amount is meaningful and JSON numbers stop being exact. */
const MAX_MINOR = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An amount of a request: a string with exactly two fraction digits ("15.00", not "15" or "15.0"), or a JSON
 * number with at most two decimals (15, 15.5, 15.25).
 */
export function parseAmountMinor(input: unknown): AmountParse {
  if (typeof input === 'string') {
    return AMOUNT_STRING.test(input)
      ? parseDecimalMinor(input)
      : { ok: false, message: 'must be a positive decimal string with exactly two fraction digits, such as "1500.00" (no sign)' };
  }
  if (typeof input === 'number') return parseDecimalMinor(Number.isFinite(input) ? String(input) : 'NaN');
  return { ok: false, message: 'must be a decimal string such as "1500.00" or a number with at most two decimals' };
}

/** A positive decimal with zero to two fraction digits, as text (a setting, or a JSON number's digits). */
export function parseDecimalMinor(text: string): AmountParse {
  if (!DECIMAL.test(text)) {
    return { ok: false, message: 'must be a positive decimal with at most two fraction digits, such as "1500.00" (no exponent, no sign)' };
  }
  const [whole, frac = ''] = text.split('.');
  const minor = BigInt(whole) * 100n + BigInt((frac + '00').slice(0, 2));
  if (minor > MAX_MINOR) return { ok: false, message: 'is too large' };
  if (minor <= 0n) return { ok: false, message: 'must be greater than zero' };
  return { ok: true, value: minor };
}

/** 150000n → "1500.00"; negative values keep their sign. */
export function formatMinor(minor: bigint | string | number): string {
  const v = BigInt(minor);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const s = `${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
  return neg ? `-${s}` : s;
}

/** Paise → a JSON number in rupees with exactly the paise we hold (15 significant digits are exact in a double). */
export function minorToRupeeNumber(minor: bigint): number {
  return Number(formatMinor(minor));
}

/** ISO 4217 codes as the runtime's ICU knows them, so an unknown or made-up currency is a 400. */
const ISO_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

export function isIsoCurrency(code: unknown): code is string {
  return typeof code === 'string' && /^[A-Z]{3}$/.test(code) && ISO_CURRENCIES.has(code);
}
