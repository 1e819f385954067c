import { EnKashCard, EnKashLookupMatch, EnKashLookupResult, EnKashParentAccount, EnKashRecordStatus } from './enkash.types';
import { isObject, JsonObject, rupeesToMinor } from './enkash.wire';

/**
 * Payload decoding for the calls whose response schema EnKash does not document (ENKASH.md "Look a load up").
 * Tolerant in what it reads, but never tolerant towards "absent": a shape it does not recognise is reported
 * as undecodable (an unknown outcome), because a wrong "absent" makes the worker send the load a second time.
 */
export type Decoded<T> = { ok: true; value: T } | { ok: false; message: string };

const LIST_KEYS = ['content', 'transactions', 'data', 'records', 'items', 'list', 'cards'];
const REFERENCE_KEYS = ['pgReferenceNumber', 'uniqueReferenceNumber'];

/** An array of records, wherever the payload keeps it (bounded depth: content inside data at most). */
export function recordList(payload: unknown, depth = 0): JsonObject[] | null {
  if (payload === null || payload === undefined) return [];
  if (Array.isArray(payload)) return payload.filter(isObject);
  if (!isObject(payload)) return null;
  for (const key of LIST_KEYS) {
    const inner = payload[key];
    if (Array.isArray(inner)) return inner.filter(isObject);
    if (isObject(inner) && depth < 1) {
      const nested = recordList(inner, depth + 1);
      if (nested !== null) return nested;
    }
  }
  return null;
}

const referenceOf = (r: JsonObject): string | null => {
  for (const key of REFERENCE_KEYS) if (typeof r[key] === 'string') return r[key] as string;
  return null;
};

/** EnKash's answer when nothing matches may be a code 1 or a text payload instead of an empty list. */
export const NOTHING_FOUND = /^\s*no\s+(such\s+)?(records?|transactions?|data)(\s+(were\s+)?found)?\s*\.?\s*$/i;

export function decodeLookup(reference: string, payload: unknown): Decoded<EnKashLookupResult> {
  if (typeof payload === 'string' && NOTHING_FOUND.test(payload)) return { ok: true, value: { matches: [] } };
  let records = recordList(payload);
  if (records === null && isObject(payload) && referenceOf(payload) !== null) records = [payload];
  if (records === null) return { ok: false, message: 'transaction/all payload has a shape this client does not know' };
  // Unrelated card transactions (spends) may carry no reference; but if none carries one, the field is
  // named differently than we think and "no match" would be a guess.
  if (records.length > 0 && !records.some((r) => referenceOf(r) !== null)) {
    return { ok: false, message: 'transaction/all records carry no pgReferenceNumber' };
  }
  return { ok: true, value: { matches: records.filter((r) => referenceOf(r) === reference).map(toMatch) } };
}

function toMatch(r: JsonObject): EnKashLookupMatch {
  const rawStatus = ['status', 'transactionStatus', 'txnStatus'].map((k) => r[k]).find((v) => typeof v === 'string') as string | undefined;
  return {
    status: mapStatus(rawStatus ?? null),
    rawStatus: rawStatus ?? null,
    amountMinor: rupeesToMinor(r.principalAmount ?? r.amount),
    raw: r,
  };
}

export function mapStatus(raw: string | null): EnKashRecordStatus {
  const s = (raw ?? '').trim().toUpperCase();
  if (['SUCCESS', 'SUCCESSFUL', 'COMPLETED', 'APPROVED', 'SETTLED'].includes(s)) return 'success';
  if (['FAILED', 'FAILURE', 'DECLINED', 'REJECTED'].includes(s)) return 'failed';
  if (['REVERSED', 'REFUNDED'].includes(s)) return 'reversed';
  return 'other';
}

export function decodeParentAccount(payload: unknown): Decoded<EnKashParentAccount> {
  const account = Array.isArray(payload) ? payload.find(isObject) : payload;
  if (!isObject(account)) return { ok: false, message: 'cardAccount/get payload is not an object' };
  return { ok: true, value: { availableBalanceMinor: rupeesToMinor(account.availableBalance), raw: payload } };
}

export function decodeCard(enKashCardId: string, payload: unknown): Decoded<EnKashCard> {
  // search may answer with the card itself or with a list of cards.
  const list = isObject(payload) && 'otbBalance' in payload ? [payload] : recordList(payload) ?? [];
  const card = list.find((c) => c.enKashCardId === enKashCardId || c.enkashCardId === enKashCardId)
    ?? (list.length === 1 ? list[0] : undefined);
  if (!card) return { ok: false, message: 'search payload holds no card' };
  return { ok: true, value: { otbBalanceMinor: rupeesToMinor(card.otbBalance), raw: payload } };
}
