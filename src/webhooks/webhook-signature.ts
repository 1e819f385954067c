import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signing as receivers verify it (docs/webhooks.md): HMAC-SHA256 over "<t>.<raw body>" with the
 * subscription's secret (its UTF-8 text, `whsec_` included), hex, in `t=<unix seconds>,v1=<hex>`.
 * Only node:crypto here, so the README snippet is this file's verifier as is.
 */
export const SIGNATURE_HEADER = 'Card-Ledger-Signature';
export const EVENT_ID_HEADER = 'Card-Ledger-Event-Id';
export const EVENT_TYPE_HEADER = 'Card-Ledger-Event-Type';

/** One v1 per secret, in the order given: during a rotation the new secret, then the one it replaces. */
export function signWebhook(secrets: string | readonly string[], rawBody: string, timestampSec: number): string {
  const v1 = [secrets].flat().map((secret) => createHmac('sha256', secret).update(`${timestampSec}.${rawBody}`).digest('hex'));
  return [`t=${timestampSec}`, ...v1.map((hex) => `v1=${hex}`)].join(',');
}

/**
 * True when `header` carries a v1 signature of `rawBody` (the bytes as received, before any JSON parsing)
 * made with `secret`, at a time within `toleranceSec` of now; a stale timestamp defeats replays.
 * During a secret rotation the header carries several v1 values: any one matching is enough.
 */
export function verifyWebhookSignature(
  rawBody: string | Buffer,
  header: string | undefined,
  secret: string,
  toleranceSec = 300,
  nowSec = Math.floor(Date.now() / 1000),
): boolean {
  if (!header) return false;
  let timestamp = NaN;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && /^\d{1,12}$/.test(value ?? '')) timestamp = Number(value);
    if (key === 'v1' && /^[0-9a-f]{64}$/.test(value ?? '')) signatures.push(Buffer.from(value, 'hex'));
  }
  if (!Number.isFinite(timestamp) || Math.abs(nowSec - timestamp) > toleranceSec) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  return signatures.some((s) => timingSafeEqual(s, expected));
}
