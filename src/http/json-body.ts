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

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A forbidden own key at any depth, or an object whose prototype a "__proto__" key replaced while parsing. */
function hasForbiddenKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasForbiddenKey);
  if (Object.getPrototypeOf(value) !== Object.prototype) return true;
  return Object.keys(value).some((k) => FORBIDDEN_KEYS.has(k) || hasForbiddenKey((value as Record<string, unknown>)[k]));
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
      const forbidden = () =>
        done(new ApiError(400, 'validation_failed', 'body: forbidden property name', [{ field: 'body', message: 'forbidden property name' }]));
      if (/"(__proto__|constructor|prototype)"\s*:/.test(text)) return forbidden();
      try {
        const value = parse(text, undefined, toPlainNumber);
        // A key spelled with \u escapes ("\u005f_proto__") passes the pattern above; look at what was parsed.
        if (text.includes('\\u') && hasForbiddenKey(value)) return forbidden();
        done(null, value);
      } catch (e) {
        const msg = e instanceof Error ? e.message : 'malformed JSON';
        done(new ApiError(400, 'validation_failed', `body is not valid JSON: ${msg}`, [{ field: 'body', message: `is not valid JSON: ${msg}` }]));
      }
    });
}
