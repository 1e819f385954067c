/**
 * The one table from an error's code to its HTTP answer (API.md "Errors"). Domain code throws coded errors
 * (errors.ts) and never picks a status; the `Record` makes a code without a row a compile error.
 */
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
  'range_archived',
] as const;

/** Listed as values (not only a type) so that the OpenAPI document can enumerate them. */
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorKind {
  /** The HTTP status every error of this code answers with. */
  status: number;
  /** What the code means, for the OpenAPI document. */
  meaning: string;
}

export const ERRORS: Record<ErrorCode, ErrorKind> = {
  validation_failed: { status: 400, meaning: 'the request is malformed; `details` names every field at fault' },
  unauthorized: { status: 401, meaning: 'no credential, or an unknown or revoked one' },
  forbidden: { status: 403, meaning: 'the credential lacks the scope, or the request its CSRF token or origin' },
  not_found: { status: 404, meaning: 'no such resource (or not visible to this caller)' },
  idempotency_key_reused: { status: 409, meaning: 'this Idempotency-Key was used with a different request' },
  idempotency_key_in_progress: { status: 409, meaning: 'a request with this Idempotency-Key is still being processed' },
  invalid_state: { status: 409, meaning: 'the resource is not in a state that allows this action' },
  load_in_flight: { status: 409, meaning: "the load's EnKash exchange is in flight; retry after Retry-After" },
  payload_too_large: { status: 413, meaning: 'the request body is too large' },
  unsupported_media_type: { status: 415, meaning: 'the body is not uncompressed application/json' },
  insufficient_funds: { status: 422, meaning: 'the account lacks the available balance' },
  amount_out_of_range: { status: 422, meaning: "the write would pass what the ledger's totals can record" },
  rate_limited: { status: 429, meaning: 'too many requests for this API key; retry after Retry-After' },
  method_not_allowed: { status: 405, meaning: 'the path does not take this method; see Allow' },
  request_header_fields_too_large: { status: 431, meaning: 'the request headers are too large' },
  request_timeout: { status: 408, meaning: 'the request did not arrive in time' },
  conflict: { status: 409, meaning: 'the request conflicts with existing data or a run in progress' },
  internal_error: { status: 500, meaning: 'a bug; the body carries no details' },
  service_unavailable: { status: 503, meaning: 'the service cannot serve now (database, shutdown, configuration); retry' },
  range_archived: { status: 410, meaning: 'the moment or range asked for is before the archive point (archived months)' },
};

/**
 * The code a framework error (Nest's HttpException, Fastify's FST_ errors) is given for its status: the generic
 * code of that status, since several codes share 409 and 422.
 */
export const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};
