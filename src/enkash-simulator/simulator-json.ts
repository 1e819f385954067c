import { isLosslessNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/**
 * The simulator reads and writes numbers by their literal text, so that it records exactly what a client
 * sent (0.3 and 0.30000000000000004 are different loads) and answers amounts no double would round.
 */
export type Json = Record<string, unknown>;

export const isJsonObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);

/** Numbers come back as LosslessNumber; malformed text and duplicate keys throw. */
export function parseLiteralJson(text: string): unknown {
  return parse(text);
}

/** A money value for a response: formatted paise written as a bare JSON number ("1500.10", never 1500.1000001). */
export function rupeeNumber(minor: bigint): LosslessNumber {
  const neg = minor < 0n;
  const abs = neg ? -minor : minor;
  return new LosslessNumber(`${neg ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`);
}

export function stringifyJson(value: unknown): string {
  return stringify(value) ?? 'null';
}

/** The literal of a JSON number, or of a numeric string; null for anything else. */
export function numberLiteral(v: unknown): string | null {
  if (isLosslessNumber(v)) return v.value;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'bigint') return v.toString();
  return null;
}

/** "1000000.00" or 1000000 → paise; at most two decimals; null otherwise. Zero and negatives allowed here. */
export function parseRupeesMinor(v: unknown): bigint | null {
  const text = numberLiteral(v);
  const m = text === null ? null : /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) return null;
  const minor = BigInt(m[2]) * 100n + BigInt((m[3] ?? '').padEnd(2, '0'));
  return m[1] === '-' ? -minor : minor;
}

/** LosslessNumbers → plain numbers, for admin bodies where every number is a small setting. */
export function plainNumbers(v: unknown): unknown {
  if (isLosslessNumber(v)) return Number(v.value);
  if (Array.isArray(v)) return v.map(plainNumbers);
  if (isJsonObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainNumbers(x)]));
  return v;
}
