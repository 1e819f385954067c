import rateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { DataSource } from 'typeorm';
import { ApiKeysService } from '../auth/api-keys.service';
import { ApiError } from '../common/errors';
import { postgresRateLimitStore } from './postgres-rate-limit-store';

/** Probes and scrapes must keep working when a caller floods the API. */
const EXEMPT = /^\/(health|metrics)(\/|\?|$)/;
const EXEMPT_BUCKET = 'exempt';

/**
 * The bucket a request counts against: the API key (by its id, never the key) when it is a live key,
 * else the client address, so that random made-up keys cannot each buy a fresh allowance.
 */
async function bucketOf(req: FastifyRequest, keys: ApiKeysService): Promise<string> {
  if (EXEMPT.test(req.url)) return EXEMPT_BUCKET;
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (match) {
    const caller = await keys.authenticateOnce(req, match[1]).catch(() => null);
    if (caller) return `key:${caller.apiKeyId}`;
  }
  return `ip:${req.ip}`;
}

/** Security headers and the per-key rate limit; registered before any route, so that every route gets both. */
export async function installHttpSecurity(app: NestFastifyApplication, perMinute: number): Promise<void> {
  // Helmet's default CSP suits the Swagger UI too: its HTML loads only same-origin scripts (no inline ones).
  // Helmet's own middleware, built once: @fastify/helmet builds it again for every request (its directives parsed,
  // a dozen closures made), about 2 % of the API process's CPU at intake (bench/RESULTS.md, "twelfth step").
  const headers = helmet();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (req, reply, done) => headers(req.raw, reply.raw, (err) => done(err as Error | undefined)));
  const keys = app.get(ApiKeysService);
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: perMinute,
    timeWindow: 60_000,
    store: postgresRateLimitStore(app.get(DataSource)),
    keyGenerator: (req) => bucketOf(req, keys),
    allowList: (_req, key) => key === EXEMPT_BUCKET,
    // Fail open: when the counter table cannot be reached, the database is down and the request fails anyway.
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) =>
      new ApiError('rate_limited', `too many requests: at most ${ctx.max} a minute for this API key; retry in ${ctx.after}`),
  });
}
