import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parse } from 'lossless-json';
import { ApiError } from '../common/errors';

export const BODY_LIMIT_BYTES = 1_048_576;

/**
 * JSON numbers are accepted only in plain decimal notation with at most two fraction digits and at most
 * 15 significant digits, where a double is exact. Anything else (1.5e3, 0.001, 2^53 + 1) becomes NaN, which
 * every validator refuses with a message naming its field.
 */
function toPlainNumber(text: string): number {
  return /^-?\d{1,15}(\.\d{1,2})?$/.test(text) && text.replace(/[-.]/g, '').replace(/^0+/, '').length <= 15 ? Number(text) : NaN;
}

/**
 * JSON only (anything else is a 415); duplicate keys and malformed text are a 400 (lossless-json is strict),
 * and numbers go through toPlainNumber so that no amount is ever rounded silently.
 */
export function installJsonBodyParser(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
    (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      if (/"(__proto__|constructor|prototype)"\s*:/.test(text)) {
        return done(new ApiError(400, 'validation_failed', 'body: forbidden property name', [{ field: 'body', message: 'forbidden property name' }]));
      }
      try {
        done(null, parse(text, undefined, toPlainNumber));
      } catch (e) {
        const msg = e instanceof Error ? e.message : 'malformed JSON';
        done(new ApiError(400, 'validation_failed', `body is not valid JSON: ${msg}`, [{ field: 'body', message: `is not valid JSON: ${msg}` }]));
      }
    });
}
