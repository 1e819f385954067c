import { EnKashCard, EnKashLookupMatch, EnKashLookupResult, EnKashParentAccount, EnKashRecordStatus } from './enkash.types';
import { isObject, JsonObject, rupeesToMinor } from './enkash.wire';

/**
 * Payload decoding for the calls whose response schema EnKash does not document (ENKASH.md "Look a load up").
 * Tolerant in what it reads, but never tolerant towards "absent": a shape it does not recognise is reported
 * as undecodable (an unknown outcome), because a wrong "absent" makes the worker send the load a second time
 * (docs/design.md, "Lookups").
 */
export type Decoded<T> = { ok: true; value: T } | { ok: false; message: string };

const LIST_KEYS = ['content', 'transactions', 'data', 'records', 'items', 'list', 'cards'];
const REFERENCE_KEYS = ['pgReferenceNumber', 'uniqueReferenceNumber'];

/** An array of records, wherever the payload keeps it (bounded depth: content inside data at most); null = none found. */
export function recordList(payload: unknown, depth = 0): JsonObject[] | null {
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
  for (const key of REFERENCE_KEYS) if (typeof r[key] === 'string') return r[key];
  return null;
};

/** EnKash's answer when nothing matches may be a code 1 or a text payload instead of an empty list. */
export const NOTHING_FOUND = /^\s*no\s+(such\s+)?(records?|transactions?|data)(\s+(were\s+)?found)?\s*\.?\s*$/i;

/**
 * A lookup's answer, strict about absence (ENKASH.md: the schema of transaction/all is unknown). "Absent" needs a
 * positive statement: a "no records" text, or an answer whose lists are all empty, with no sign of more pages.
 * Anything else without a record carrying our reference under a field we read is undecodable (an unknown outcome,
 * never a re-send): no payload, our reference anywhere we do not read it, any list with something in it that is
 * not ours (records of other loads when a filter was ignored, ids instead of records), a page of a longer list.
 */
export function decodeLookup(reference: string, payload: unknown): Decoded<EnKashLookupResult> {
  if (typeof payload === 'string' && NOTHING_FOUND.test(payload)) return { ok: true, value: { matches: [] } };
  if (payload === null || payload === undefined)
    return { ok: false, message: 'transaction/all answered code 0 without any records or "no records" text' };
  let records = recordList(payload);
  if (records === null && isObject(payload) && referenceOf(payload) !== null) records = [payload];
  if (records === null) return { ok: false, message: 'transaction/all payload has a shape this client does not know' };
  const matches = records.filter((r) => referenceOf(r) === reference);
  if (matches.length > 0) return { ok: true, value: { matches: matches.map(toMatch) } };
  if (mentions(payload, reference.toLowerCase(), 0)) {
    return { ok: false, message: 'transaction/all shows our reference under a field this client does not read' };
  }
  if (somethingListed(payload, 0)) {
    return { ok: false, message: 'transaction/all listed entries, none of them ours: a filter may have been ignored' };
  }
  if (morePages(payload, 0)) return { ok: false, message: 'transaction/all returned an empty page of a longer list' };
  return { ok: true, value: { matches: [] } };
}

const MAX_DEPTH = 8;

/** Whether the reference appears, in any case, in any key or string anywhere in the answer (bounded depth). */
function mentions(value: unknown, lowerReference: string, depth: number): boolean {
  if (typeof value === 'string') return value.toLowerCase().includes(lowerReference);
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.some((v) => mentions(v, lowerReference, depth + 1));
  if (isObject(value)) {
    return Object.entries(value).some(([k, v]) => k.toLowerCase().includes(lowerReference) || mentions(v, lowerReference, depth + 1));
  }
  return false;
}

/** Whether any list anywhere in the answer holds anything at all (beyond the depth we read: assume it does). */
function somethingListed(value: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH) return true;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.values(value).some((v) => somethingListed(v, depth + 1));
  return false;
}

const PAGE_TOTALS = ['totalElements', 'totalRecords', 'totalCount', 'total', 'count'];

/** Paging fields (Spring's and common variants), at any level, that say a list is one page of more. */
function morePages(value: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH || !isObject(value)) return false;
  const n = (k: string) => {
    const v = value[k];
    const num = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null;
    return num;
  };
  const total = PAGE_TOTALS.map(n).find((v) => v !== null) ?? null;
  if ((total !== null && total > 0) || (n('totalPages') ?? 0) > 1 || value.last === false || value.hasNext === true) return true;
  return Object.values(value).some((v) => morePages(v, depth + 1));
}

function toMatch(r: JsonObject): EnKashLookupMatch {
  const rawStatus = ['status', 'transactionStatus', 'txnStatus'].map((k) => r[k]).find((v): v is string => typeof v === 'string');
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
  const list = isObject(payload) && 'otbBalance' in payload ? [payload] : (recordList(payload) ?? []);
  const card =
    list.find((c) => c.enKashCardId === enKashCardId || c.enkashCardId === enKashCardId) ?? (list.length === 1 ? list[0] : undefined);
  if (!card) return { ok: false, message: 'search payload holds no card' };
  return { ok: true, value: { otbBalanceMinor: rupeesToMinor(card.otbBalance), raw: payload } };
}
