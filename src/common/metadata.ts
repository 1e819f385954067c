import { registerDecorator, ValidationArguments } from 'class-validator';

/** Metadata bounds (API.md: "at most 20 string pairs"), with Stripe's key and value lengths and a total size. */
export const METADATA_LIMITS = { keys: 20, keyChars: 40, valueChars: 500, totalBytes: 8192 } as const;
const METADATA_KEY = new RegExp(`^[A-Za-z0-9_.\\-]{1,${METADATA_LIMITS.keyChars}}$`);

/** What is wrong with a metadata value, or null; each bound is checked in turn, so the work stays small. */
export function metadataProblem(v: unknown): string | null {
  const { keys, keyChars, valueChars, totalBytes } = METADATA_LIMITS;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be an object of string values';
  const entries = Object.entries(v);
  if (entries.length > keys) return `must have at most ${keys} keys (has ${entries.length})`;
  let bytes = 0;
  for (const [k, val] of entries) {
    if (!METADATA_KEY.test(k)) return `keys must be 1-${keyChars} characters of A-Za-z0-9_.-`;
    if (typeof val !== 'string') return `values must be strings (${k} is not)`;
    if (val.length > valueChars) return `values must be at most ${valueChars} characters (${k} is longer)`;
    bytes += Buffer.byteLength(k) + Buffer.byteLength(val);
  }
  return bytes > totalBytes ? `must be at most ${totalBytes} bytes of keys and values in all` : null;
}

export function IsMetadata() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isMetadata',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (v: unknown) => metadataProblem(v) === null,
        defaultMessage: (a: ValidationArguments) => metadataProblem(a.value) ?? 'is invalid',
      },
    });
}
