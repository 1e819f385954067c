import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { DatabaseOutage } from '../database/database-outage';
import { markOutageAnswer } from '../database/database-outage';
import { ApiError, errorBody } from './errors';

/**
 * Maps every thrown thing to the contract's error body; stack traces never leave the process. A database that cannot
 * serve (down, restarting, read-only) is a 503 with Retry-After, logged once per outage by `outage`, never a 500.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  constructor(private readonly outage: DatabaseOutage | null = null) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const refused = this.outage?.refuse(exception) ?? null;
    if (refused) markOutageAnswer(reply.raw);
    const err = refused ?? toApiError(exception);
    // A 5xx thrown as an ApiError is a state reported on purpose (e.g. 503): no stack. Anything else is a bug.
    if (refused) {
      // Logged once for the whole outage (DatabaseOutage), and counted.
    } else if (err.status >= 500 && exception instanceof ApiError) this.logger.warn(`${err.code}: ${err.message}`);
    else if (err.status >= 500) this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    if (err.headers) for (const [k, v] of Object.entries(err.headers)) void reply.header(k, v);
    void reply.status(err.status).header('content-type', 'application/json; charset=utf-8').send(errorBody(err));
  }
}

export function toApiError(exception: unknown): ApiError {
  if (exception instanceof ApiError) return exception;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    const message = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? exception.message);
    return ApiError.fromFramework(
      status,
      Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : exception.message,
    );
  }
  // Fastify's own errors (body parsing, content type, size) carry statusCode and a FST_ code.
  const fst = exception as { statusCode?: number; code?: string; message?: string };
  if (typeof fst?.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
    const status = fst.statusCode;
    const message =
      status === 413
        ? 'request body is too large'
        : status === 415
          ? 'Content-Type must be application/json'
          : `body: ${fst.message ?? 'malformed request'}`;
    const details = status === 400 ? [{ field: 'body', message: fst.message ?? 'malformed JSON' }] : undefined;
    return ApiError.fromFramework(status, message, details);
  }
  return new ApiError('internal_error', 'internal error');
}
