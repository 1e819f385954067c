/**
 * What the rest of the service sees of EnKash: typed outcomes, never exceptions, never raw HTTP.
 * The four kinds map one to one onto the settlement rules of docs/design.md ("A load's life", step 3).
 */

/** HTTP 200 (any 2xx) and code 0. */
export interface EnKashSucceeded<T> {
  kind: 'succeeded';
  value: T;
  httpStatus: number;
  code: string;
  message: string;
  durationMs: number;
}

/** Definite refusal of this request: HTTP 2xx with code != 0, or HTTP 400/422 (not about encryption). */
export interface EnKashRejected {
  kind: 'rejected';
  httpStatus: number;
  code: string | null;
  message: string;
  durationMs: number;
}

/** Nobody knows whether it was applied: timeout, reset, 5xx, 408/409/429, non-JSON body, 2xx without a code. */
export interface EnKashUnknown {
  kind: 'unknown';
  reason: string;
  httpStatus: number | null;
  code: string | null;
  message: string;
  durationMs: number;
}

/**
 * Something wrong with us or the connection to EnKash, not with this load: 401 after one refresh, a failed
 * or refused login, 403, 404, other 4xx, encryption errors. The same would happen to every load.
 */
export interface EnKashSystemic {
  kind: 'systemic';
  reason: string;
  httpStatus: number | null;
  code: string | null;
  message: string;
  durationMs: number;
}

/**
 * Nothing left this process: the exchange's deadline came before the request could be sent (a slow token
 * fetch ate the time). Safe to try again later; says nothing about EnKash.
 */
export interface EnKashNotSent {
  kind: 'not_sent';
  reason: 'deadline';
  httpStatus: null;
  code: null;
  message: string;
  durationMs: number;
}

export type EnKashFailure = EnKashRejected | EnKashUnknown | EnKashSystemic | EnKashNotSent;
export type EnKashOutcome<T> = EnKashSucceeded<T> | EnKashFailure;

/** One load as sent to POST /balance. `reference` is minted once per load and reused on every retry. */
export interface EnKashLoadInstruction {
  reference: string;
  enKashCardId: string;
  amountMinor: bigint;
  /** Default: the configured company and parent card account. */
  companyId?: string;
  cardAccountId?: string;
  description?: string | null;
  remarks?: string | null;
}

export interface EnKashLoadResult {
  /** EnKash's payload text; the success answer carries no transaction id and no balance. */
  payload: unknown;
}

/**
 * One exchange with EnKash (token fetch, the call, after a 401 one more token fetch and call) ends by this
 * monotonic time (performance.now()): no request is started after it, and each request's timeout is cut to it.
 */
export interface ExchangeDeadline {
  deadlineMono: number;
}

export interface EnKashLookupScope {
  enKashCardId: string;
  companyId?: string;
  cardAccountId?: string;
}

export type EnKashRecordStatus = 'success' | 'failed' | 'reversed' | 'other';

export interface EnKashLookupMatch {
  status: EnKashRecordStatus;
  rawStatus: string | null;
  amountMinor: bigint | null;
  raw: unknown;
}

/** An empty `matches` means EnKash (as far as it shows right now) never applied the reference. */
export interface EnKashLookupResult {
  matches: EnKashLookupMatch[];
}

export interface EnKashParentAccount {
  availableBalanceMinor: bigint | null;
  raw: unknown;
}

export interface EnKashCard {
  otbBalanceMinor: bigint | null;
  raw: unknown;
}
