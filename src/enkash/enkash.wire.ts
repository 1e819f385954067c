import { parse } from 'lossless-json';

/** Reading EnKash's answers: exact numbers, both envelope spellings, rupees to paise without floats. */

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * JSON.parse would round 12345678901234567.89 silently. Numbers a double holds exactly (at most 15
 * significant digits, no exponent) become numbers; any other keeps its literal text, so an amount we cannot
 * hold exactly is still read exactly (or refused) by rupeesToMinor instead of being rounded on the way in.
 */
export function parseJsonExact(text: string): unknown {
  return parse(text, null, (literal: string) => {
    const digits = literal.replace(/^-/, '').replace('.', '').replace(/^0+/, '');
    return /^-?\d+(\.\d+)?$/.test(literal) && digits.length <= 15 ? Number(literal) : literal;
  });
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * Rupees (a JSON number or a decimal string) → paise, by string handling only. Digits beyond the paise are
 * accepted only when they are zeros ("100.500"); anything that is not an exact paise amount gives null.
 */
export function rupeesToMinor(value: unknown): bigint | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    // String() of a double gives the shortest text that reads back to it: 0.3 → "0.3", never 0.2999…
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return null;
  }
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const [, sign, whole, frac = ''] = m;
  if (/[^0]/.test(frac.slice(2))) return null;
  const minor = BigInt(whole) * 100n + BigInt(frac.slice(0, 2).padEnd(2, '0'));
  return sign === '-' ? -minor : minor;
}

export interface Envelope {
  /** null when the body has neither `code` nor `response_code`. */
  code: string | null;
  message: string;
  payload: unknown;
}

/**
 * Both spellings EnKash uses: {code, message, payload} and {response_code, response_message, payload}; a result
 * under `data` or `result` (no payload) is read as the payload.
 */
export function readEnvelope(body: unknown): Envelope {
  if (!isObject(body)) return { code: null, message: '', payload: undefined };
  const rawCode = body.code ?? body.response_code;
  const code = typeof rawCode === 'number' || (typeof rawCode === 'string' && rawCode.trim() !== '') ? String(rawCode).trim() : null;
  // Some EnKash pages put the result under `data` or `result` instead of `payload`: read those when payload is empty.
  const payload = body.payload ?? body.data ?? body.result ?? body.payload;
  return { code, message: errorText(body), payload };
}

/** The human text of an envelope, a Spring error body or an OAuth error body. */
export function errorText(body: JsonObject): string {
  for (const key of ['message', 'response_message', 'error_description', 'error']) {
    const v = body[key];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return '';
}

/** Code "0", 0 and "00" are all success: EnKash documents only 0 and 1, spelled as numbers or strings. */
export const isSuccessCode = (code: string): boolean => /^0+$/.test(code);
