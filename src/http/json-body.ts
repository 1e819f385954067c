import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse } from 'lossless-json';
import secureJson from 'secure-json-parse';
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

/**
 * Text that may hide a prototype-poisoning key ("__proto__", or "constructor" holding "prototype") or a key that
 * class-transformer trips on ("constructor", "prototype": a 500 otherwise), however its letters are escaped:
 * only such bodies pay for secure-json-parse's second parse.
 */
const MAY_POISON = /__proto__|constructor|prototype|\\u/;
const POISON_CHECK = { protoAction: 'error', constructorAction: 'error' } as const;
const refuseObjectKeys = (key: string, value: unknown) => {
  if (key === 'constructor' || key === 'prototype') throw new SyntaxError(`forbidden key ${key}`);
  return value;
};

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

const hasBody = (req: FastifyRequest) => req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';

const short = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);

/** 415 for a body this service cannot read as it stands: compressed, in another charset, or not JSON. */
function unreadableBody(req: FastifyRequest): ApiError | null {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    return new ApiError('unsupported_media_type', `Content-Encoding ${short(encoding)} is not supported: send the body uncompressed`);
  }
  const type = req.headers['content-type'];
  if (type === undefined || !JSON_UTF8.test(type)) {
    return new ApiError(
      'unsupported_media_type',
      `Content-Type must be application/json (UTF-8; no other charset or parameter), not ${type === undefined ? 'missing' : short(type)}`,
    );
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
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
    (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      let value: unknown;
      try {
        value = parse(text, undefined, toPlainNumber);
      } catch (e) {
        const msg = e instanceof Error ? e.message : 'malformed JSON';
        return done(
          new ApiError('validation_failed', `body is not valid JSON: ${msg}`, [{ field: 'body', message: `is not valid JSON: ${msg}` }]),
        );
      }
      // lossless-json lets a "__proto__" key replace the parsed object's prototype: judge the text with
      // secure-json-parse, the check Fastify's own JSON parser uses, escapes ("\u005f_proto__") included.
      if (MAY_POISON.test(text)) {
        try {
          secureJson.parse(text, refuseObjectKeys, POISON_CHECK);
        } catch {
          return done(badField('body', 'forbidden property name'));
        }
      }
      done(bodyShapeProblem(value), value);
    },
  );
}
