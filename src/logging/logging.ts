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
const SECRET_FIELDS = ['password', 'secret', 'token', 'clientSecret', 'access_token', 'key', 'authorization', 'cookie'];
const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`]),
];

/** An EnKash card id anywhere in a line (a URL, a message, an account code like card:EKC...). */
const CARD_ID_ANYWHERE = /(?<![A-Za-z0-9])EKC[A-Z0-9]{7}(?![A-Za-z0-9])/g;

/**
 * The last step before a line is written: card ids are masked and known secret values replaced. Field
 * redaction cannot see inside strings (a URL, an echoed EnKash message), so this catches what it misses.
 */
export function scrubber(secrets: Array<string | null | undefined> = []): (line: string) => string {
  const known = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 6);
  return (line) => {
    let out = line.replace(CARD_ID_ANYWHERE, maskCardId);
    for (const s of known) if (out.includes(s)) out = out.split(s).join('[redacted]');
    return out;
  };
}

export function createRootLogger(settings: LogSettings): Logger {
  return pino({
    level: settings.level,
    base: { service: 'card-ledger' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: { streamWrite: scrubber(settings.secrets) },
  }, settings.stream ?? pino.destination({ dest: 1, sync: true }));
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
        (err.message.startsWith('failed with status code') ? { ...val, err: undefined } : val),
      // The response headers are the same on every line (helmet's); the status is what matters.
      serializers: { res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }) },
    },
  };
}

/** The test harness passes Nest-style levels (['error']) or false; the most verbose one given sets pino's level. */
export function levelFromNest(levels: LogLevel[] | false): LogLevelName {
  if (levels === false || levels.length === 0) return 'silent';
  const order: Array<[LogLevel, LogLevelName]> = [['verbose', 'trace'], ['debug', 'debug'], ['log', 'info'], ['warn', 'warn'], ['error', 'error'], ['fatal', 'fatal']];
  return order.find(([nest]) => levels.includes(nest))?.[1] ?? 'error';
}
