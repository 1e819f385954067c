import { LogLevel, RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino, { DestinationStream, Logger } from 'pino';
import { LogLevelName } from '../config/app-config';
import { isOutageAnswer } from '../database/database-outage';
import { maskCardId } from '../enkash/enkash.client';

export interface LogSettings {
  level: LogLevelName;
  /** Where lines go; stdout when unset. Tests pass a stream to read the lines back. */
  stream?: DestinationStream;
  /** Configured secret values (EnKash credentials, the admin key): scrubbed from every line, whatever field they hide in. */
  secrets?: Array<string | null | undefined>;
}

/** Field names whose values never reach a log line, at any depth up to four levels. */
const SECRET_FIELDS = [
  'password',
  'secret',
  'token',
  'clientSecret',
  'access_token',
  'key',
  'apiKey',
  'api_key',
  'authorization',
  'cookie',
];
/** Headers that carry credentials: a caller may send its key in the wrong one (x-api-key) by mistake. */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key', 'x-auth-token', 'x-access-token'];
/**
 * Exact paths only. The field names are redacted by `redactSecretFields` instead: a path that starts with a wildcard
 * makes pino run the redactor over every binding of every child logger when it is made, and pino-http makes one per
 * request, written or not (7 % of the API's CPU at intake, bench/RESULTS.md "Issue 17, fifth step").
 */
const REDACT_PATHS = [...SECRET_HEADERS.map((h) => `req.headers["${h}"]`), 'res.headers["set-cookie"]'];
const SECRET_FIELD_NAMES = new Set(SECRET_FIELDS);
/** How deep a secret field name is looked for: the object logged and three levels below it. */
const SECRET_FIELD_DEPTH = 3;

/**
 * The object of a line about to be written, with the value of every field named in SECRET_FIELDS replaced, at any
 * depth up to SECRET_FIELD_DEPTH (arrays and errors included). Runs only for lines that are written (pino's
 * `formatters.log`, before the serializers), and copies only the objects on the way to a secret, keeping their
 * prototype and non-enumerable fields (an error's message and stack): the caller's object is never changed. `req` and
 * `res` of the request log are raw Node objects, shaped by their serializers and the exact paths above.
 */
export function redactSecretFields<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || value instanceof Date || Buffer.isBuffer(value)) return value;
  let copy: Record<string, unknown> | unknown[] | undefined;
  const from = value as Record<string, unknown>;
  for (const k of Object.keys(from)) {
    const v = from[k];
    const serialized = depth === 0 && (k === 'req' || k === 'res');
    const next = SECRET_FIELD_NAMES.has(k)
      ? '[redacted]'
      : depth < SECRET_FIELD_DEPTH && !serialized
        ? redactSecretFields(v, depth + 1)
        : v;
    if (next === v) continue;
    copy ??= Array.isArray(from)
      ? [...(from as unknown[])]
      : (Object.create(Object.getPrototypeOf(from) as object | null, Object.getOwnPropertyDescriptors(from)) as Record<string, unknown>);
    (copy as Record<string, unknown>)[k] = next;
  }
  return (copy ?? value) as T;
}

/** Query parameters that carry credentials, compared by their decoded, lower-case name. */
const SECRET_PARAMS = new Set([
  'api_key',
  'apikey',
  'api-key',
  'token',
  'access_token',
  'refresh_token',
  'key',
  'secret',
  'password',
  'client_secret',
  'auth',
  'authorization',
  'session',
  // Not a secret, but base64 of what it pages by: an account code names a card, unmasked.
  'cursor',
]);
/**
 * Credentials this service issues, recognised by their prefix wherever they appear (a path, any query parameter,
 * a malformed Authorization header echoed in a message): API keys and webhook secrets.
 */
const ISSUED_SECRET = /\b(ckl|whsec)_[A-Za-z0-9_-]{6,}/g;
/** A query parameter anywhere in a line (a URL, an echoed message): its name, then its value up to a delimiter. */
const QUERY_PARAM = /([?&;])([^=&#?;\s"\\]{1,64})=([^&#;\s"\\]*)/g;

/**
 * An EnKash card id anywhere in a line (a URL, a message, an account code like card:EKC...), whatever its
 * encoding: any letter case, and any character percent-encoded, once or twice (`card%3AEKC…`, `%45KC…`, `%2545…`).
 * A card id starts after a non-alphanumeric, or right after a percent escape (the `A` of `%3A` ends an escape).
 */
const pct = (hex: string) => `%(?:25)?${hex}`;
const ch = (c: string) => {
  const code = c.charCodeAt(0).toString(16).toUpperCase();
  const lower = c.toLowerCase().charCodeAt(0).toString(16).toUpperCase();
  return `(?:[${c}${c.toLowerCase()}]|${pct(`(?:${code}|${lower})`)})`;
};
const ALNUM = `(?:[A-Za-z0-9]|${pct('(?:3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])')})`;
// The `E` comes first and the lookbehind checks what precedes it: a pattern that opens with a lookbehind is tried
// at every position of every line (a quarter of a written line's cost); this one only where an `E` or `%` is.
const FIRST = ch('E');
const CARD_ID_ANYWHERE = new RegExp(
  `${FIRST}(?<=(?:^|[^A-Za-z0-9]|%(?:25)?[0-9A-Fa-f]{2})${FIRST})${ch('K')}${ch('C')}${ALNUM}{7}(?![A-Za-z0-9])`,
  'gi',
);

const decodeAll = (text: string): string => {
  let out = text;
  for (let i = 0; i < 3 && /%[0-9A-Fa-f]{2}/.test(out); i++) {
    try {
      out = decodeURIComponent(out);
    } catch {
      break;
    }
  }
  return out;
};

function redactQuery(query: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(query).map(([k, v]) => [k, SECRET_PARAMS.has(k.toLowerCase()) ? '[redacted]' : v]));
}

/**
 * The last step before a line is written: card ids masked, credentials in query strings and known secret values
 * replaced. Field redaction cannot see inside strings (a URL, an echoed EnKash message), so this catches what it misses.
 */
export function scrubber(secrets: Array<string | null | undefined> = []): (line: string) => string {
  const known = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 6);
  return (line) => {
    let out = line.replace(ISSUED_SECRET, '$1_[redacted]').replace(CARD_ID_ANYWHERE, (m) => maskCardId(decodeAll(m)));
    out = out.replace(QUERY_PARAM, (m, sep: string, name: string) =>
      SECRET_PARAMS.has(decodeAll(name).toLowerCase()) ? `${sep}${name}=[redacted]` : m,
    );
    for (const s of known) if (out.includes(s)) out = out.split(s).join('[redacted]');
    return out;
  };
}

export function createRootLogger(settings: LogSettings): Logger {
  return pino(
    {
      level: settings.level,
      base: { service: 'card-ledger' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: (obj) => redactSecretFields(obj) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: scrubber(settings.secrets) },
    },
    settings.stream ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Probes and scrapes every few seconds would drown the request log. */
const QUIET_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * nestjs-pino wiring: pino-http logs one line per request, and every line written while the request is
 * handled (Nest's Logger included) carries its `requestId`: Fastify's req.id, which honours x-request-id
 * (app.factory.ts) and reaches pino-http through middie as req.raw.id.
 */
export function loggerParams(logger: Logger): Params {
  return {
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      logger,
      quietReqLogger: true,
      customAttributeKeys: { reqId: 'requestId' },
      autoLogging: { ignore: (req: IncomingMessage & { originalUrl?: string }) => QUIET_PATHS.test(req.originalUrl ?? req.url ?? '') },
      // A 503 is a state the service reports on purpose (not ready, a dependency not configured here), not a bug; one
      // refused for a database outage is at info, since the outage itself is logged once at warn (database-outage.ts).
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
        res.statusCode === 503 ? (isOutageAnswer(res) ? 'info' : 'warn') : err || res.statusCode >= 500 ? 'error' : 'info',
      // pino-http invents an Error for every 5xx; its stack points into pino-http and says nothing.
      customErrorObject: (_req: IncomingMessage, _res: ServerResponse, err: Error, val: Record<string, unknown>) =>
        err.message.startsWith('failed with status code') ? { ...val, err: undefined } : val,
      serializers: {
        // The parsed query repeats the URL's parameters: credentials among them are redacted whatever their case.
        req: (req: { query?: Record<string, unknown> }) => (req.query ? { ...req, query: redactQuery(req.query) } : req),
        // The response headers are the same on every line (helmet's); the status is what matters.
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}

/** The test harness passes Nest-style levels (['error']) or false; the most verbose one given sets pino's level. */
export function levelFromNest(levels: LogLevel[] | false): LogLevelName {
  if (levels === false || levels.length === 0) return 'silent';
  const order: Array<[LogLevel, LogLevelName]> = [
    ['verbose', 'trace'],
    ['debug', 'debug'],
    ['log', 'info'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['fatal', 'fatal'],
  ];
  return order.find(([nest]) => levels.includes(nest))?.[1] ?? 'error';
}
