/**
 * Every error a caller can see is an ApiError with a machine-readable code (API.md "Errors").
 * Anything else reaching the filter is a bug and becomes a 500 without details.
 */
import { CODE_OF_STATUS, ERRORS, ErrorCode } from './error-codes';

export interface FieldProblem {
  field: string;
  message: string;
}

export { ERROR_CODES, ERRORS } from './error-codes';
export type { ErrorCode } from './error-codes';

/** A domain error: its code decides the HTTP status and body (error-codes.ts), never the code that throws it. */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: FieldProblem[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERRORS[code].status;
  }

  /**
   * A framework's error (Nest's HttpException, Fastify's FST_ errors) keeps its own status: its code is the generic
   * one of that status (CODE_OF_STATUS), or validation_failed / internal_error for a status no code is made for.
   */
  static fromFramework(status: number, message: string, details?: FieldProblem[]): ApiError {
    const code = CODE_OF_STATUS[status] ?? (status < 500 ? 'validation_failed' : 'internal_error');
    const err = new ApiError(code, message, details);
    (err as { status: number }).status = status;
    return err;
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
  return new ApiError('validation_failed', counted, listed);
}

export const badField = (field: string, message: string): ApiError => validationFailed([{ field, message }]);

export const notFound = (what: string): ApiError => new ApiError('not_found', `${what} not found`);

export const invalidState = (message: string): ApiError => new ApiError('invalid_state', message);

/**
 * An operator action on a load whose EnKash exchange is in flight, scheduled, or may still land: refused so an
 * operator never races the worker (docs/design.md, "Who may change a load"). Retry once the job is parked.
 */
export const loadInFlight = (message: string, retryAfterSeconds: number): ApiError =>
  new ApiError('load_in_flight', message, undefined, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });

/** An account's running totals are bigint paise: a write that would pass them is refused, never a 500. */
export const amountOutOfRange = (what: string): ApiError =>
  new ApiError('amount_out_of_range', `${what} beyond what the ledger can record`);

/** The body of every error answer (API.md "Errors"): the code, the message, and the fields at fault if any. */
export const errorBody = (err: Pick<ApiError, 'code' | 'message' | 'details'>) => ({
  error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
});
