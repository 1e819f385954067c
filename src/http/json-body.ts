import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse } from 'lossless-json';
import { ApiError, badField } from '../common/errors';

export const BODY_LIMIT_BYTES = 1_048_576;

/**
 * The shape every JSON body must fit, checked right after parsing and before any class-transformer or
 * class-validator work, so that what a request costs is bounded by these numbers and not by what the caller
 * sent: no DTO has more than a dozen fields (metadata: 20), no array more than BATCH_MAX_LOADS items, no body
 * nests deeper than a batch item's metadata, and a full batch of 1,000 loads with 20 metadata pairs each holds
 * about 31,000 values.
 */
export const BODY_SHAPE_LIMITS = { depth: 6, keysPerObject: 50, arrayItems: 1000, values: 50_000 } as const;

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

const fieldOf = (path: string[]) => (path.length === 0 ? 'body' : path.join('.'));

/** The first way `value` exceeds BODY_SHAPE_LIMITS, naming the field; null when it fits. One pass, stops early. */
export function bodyShapeProblem(value: unknown): ApiError | null {
  const { depth, keysPerObject, arrayItems, values } = BODY_SHAPE_LIMITS;
  let seen = 0;
  const visit = (v: unknown, path: string[]): ApiError | null => {
    if (++seen > values) return badField('body', `must hold at most ${values} values in all`);
    if (typeof v !== 'object' || v === null) return null;
    if (path.length >= depth) return badField(fieldOf(path), `nests too deep: a body nests at most ${depth} levels`);
    if (Array.isArray(v)) {
      if (v.length > arrayItems) return badField(fieldOf(path), `must have at most ${arrayItems} items (has ${v.length})`);
      for (let i = 0; i < v.length; i++) {
        const problem = visit(v[i], [...path, String(i)]);
        if (problem) return problem;
      }
      return null;
    }
    const keys = Object.keys(v);
    if (keys.length > keysPerObject) {
      return badField(fieldOf(path), `has ${keys.length} keys; no object of this API has more than ${keysPerObject}`);
    }
    for (const k of keys) {
      const problem = visit((v as Record<string, unknown>)[k], [...path, k]);
      if (problem) return problem;
    }
    return null;
  };
  return visit(value, []);
}

/** `application/json`, optionally with `charset=utf-8`; anything else (other charsets, stray `;`) is refused. */
const JSON_UTF8 = /^application\/json(?:[ \t]*;[ \t]*charset=(?:utf-8|"utf-8"))?[ \t]*$/i;

const hasBody = (req: FastifyRequest) =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';

const short = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);

/** 415 for a body this service cannot read as it stands: compressed, in another charset, or not JSON. */
function unreadableBody(req: FastifyRequest): ApiError | null {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    return new ApiError(415, 'unsupported_media_type', `Content-Encoding ${short(encoding)} is not supported: send the body uncompressed`);
  }
  const type = req.headers['content-type'];
  if (type === undefined || !JSON_UTF8.test(type)) {
    return new ApiError(415, 'unsupported_media_type',
      `Content-Type must be application/json (UTF-8; no other charset or parameter), not ${type === undefined ? 'missing' : short(type)}`);
  }
  return null;
}

/**
 * JSON only, in UTF-8 and uncompressed (anything else is a 415, refused before the body is read); duplicate
 * keys and malformed text are a 400 (lossless-json is strict); numbers go through toPlainNumber so that no
 * amount is ever rounded silently; and the parsed value must fit BODY_SHAPE_LIMITS.
 */
export function installJsonBodyParser(fastify: FastifyInstance): void {
  fastify.addHook('preParsing', async (req: FastifyRequest, reply: FastifyReply, payload) => {
    if (!hasBody(req)) return payload;
    const problem = unreadableBody(req);
    if (problem) {
      // The unread body must not be taken for the next request on this connection.
      void reply.header('connection', 'close');
      throw problem;
    }
    return payload;
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
    (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      const forbidden = () => done(badField('body', 'forbidden property name'));
      if (/"(__proto__|constructor|prototype)"\s*:/.test(text)) return forbidden();
      let value: unknown;
      try {
        value = parse(text, undefined, toPlainNumber);
      } catch (e) {
        const msg = e instanceof Error ? e.message : 'malformed JSON';
        return done(new ApiError(400, 'validation_failed', `body is not valid JSON: ${msg}`,
          [{ field: 'body', message: `is not valid JSON: ${msg}` }]));
      }
      // A key spelled with \u escapes ("\u005f_proto__") passes the pattern above; look at what was parsed.
      if (text.includes('\\u') && hasForbiddenKey(value)) return forbidden();
      done(bodyShapeProblem(value), value);
    });
}
