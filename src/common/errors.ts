/**
 * Every error a caller can see is an ApiError with a machine-readable code (API.md "Errors").
 * Anything else reaching the filter is a bug and becomes a 500 without details.
 */
export interface FieldProblem {
  field: string;
  message: string;
}

export const ERROR_CODES = [
  'validation_failed',
  'unauthorized',
  'forbidden',
  'not_found',
  'idempotency_key_reused',
  'idempotency_key_in_progress',
  'invalid_state',
  'load_in_flight',
  'payload_too_large',
  'unsupported_media_type',
  'insufficient_funds',
  'amount_out_of_range',
  'rate_limited',
  'method_not_allowed',
  'request_header_fields_too_large',
  'request_timeout',
  'conflict',
  'internal_error',
  'service_unavailable',
] as const;

/** Listed as values (not only a type) so that the OpenAPI document can enumerate them. */
export type ErrorCode = (typeof ERROR_CODES)[number];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: FieldProblem[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** An error lists at most this many problems, then how many more there were: its size never grows with the input. */
export const MAX_LISTED_PROBLEMS = 10;

/** Field names can be the caller's own keys (an unknown field is named back): a long one is cut. */
const clip = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text);

export function validationFailed(details: FieldProblem[]): ApiError {
  const listed = details.slice(0, MAX_LISTED_PROBLEMS).map((d) => ({ field: clip(d.field), message: clip(d.message, 500) }));
  const more = details.length - listed.length;
  const message = listed.map((d) => `${d.field}: ${d.message}`).join('; ');
  const counted = more > 0 ? `${message}; and ${more} more problems (${details.length} in all)` : message;
  return new ApiError(400, 'validation_failed', counted, listed);
}

export const badField = (field: string, message: string): ApiError => validationFailed([{ field, message }]);

export const notFound = (what: string): ApiError => new ApiError(404, 'not_found', `${what} not found`);

export const invalidState = (message: string): ApiError => new ApiError(409, 'invalid_state', message);

/**
 * An operator action on a load whose EnKash exchange is in flight, scheduled, or may still land: refused so an
 * operator never races the worker (docs/design.md, "Who may change a load"). Retry once the job is parked.
 */
export const loadInFlight = (message: string, retryAfterSeconds: number): ApiError =>
  new ApiError(409, 'load_in_flight', message, undefined, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });

/** An account's running totals are bigint paise: a write that would pass them is refused, never a 500. */
export const amountOutOfRange = (what: string): ApiError =>
  new ApiError(422, 'amount_out_of_range', `${what} beyond what the ledger can record`);
