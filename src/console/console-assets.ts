import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiError, errorBody, notFound } from '../common/errors';

/**
 * Where `npm run build` puts the console (vite, console/vite.config.ts): dist/console under the package root,
 * found from this file whether it runs compiled (dist/src/console) or as TypeScript under the tests (src/console).
 */
export function consoleBuildDir(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'console');
}

/**
 * The console page's own policy, stricter than helmet's default for the API: scripts, styles and requests from
 * this origin only (no inline style or script at all), no framing, and no upgrade-insecure-requests, which would
 * break the console on a plain-HTTP address that is not loopback (a LAN address, a container's port).
 */
export const CONSOLE_CSP =
  "default-src 'self'; base-uri 'none'; connect-src 'self'; font-src 'self'; img-src 'self' data:; " +
  "object-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'";

const json = (reply: FastifyReply, err: ApiError) =>
  reply
    .status(err.status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify(errorBody(err)));

/**
 * The console at GET /console on the API's own port: the cookie parser its sessions need, its hashed assets
 * (cached for good: a new build has new names), and its one page for every path under /console, so that any deep
 * link (/console/cards/EKCMB7KAEW) opens the page that shows it.
 */
export async function installConsole(app: NestFastifyApplication, dir = consoleBuildDir()): Promise<void> {
  await app.register(fastifyCookie);
  const indexFile = join(dir, 'index.html');
  const index = existsSync(indexFile) ? readFileSync(indexFile) : null;
  if (index && existsSync(join(dir, 'assets'))) {
    await app.register(fastifyStatic, {
      root: join(dir, 'assets'),
      prefix: '/console/assets/',
      decorateReply: false,
      index: false,
      list: false,
      immutable: true,
      maxAge: 365 * 24 * 3600_000,
    });
  }
  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    if (/^\/console\/(api|assets)(\/|$)/.test(req.url)) return json(reply, notFound(req.url.split('?')[0]));
    if (!index) return json(reply, new ApiError('service_unavailable', 'the console is not built in this installation: run npm run build'));
    return reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('cache-control', 'no-cache')
      .header('content-type', 'text/html; charset=utf-8')
      .send(index);
  };
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/console', page);
  fastify.get('/console/*', page);
}
