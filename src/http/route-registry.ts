import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

export interface RegisteredRoute {
  method: string;
  /** Fastify's form: `/v1/card-loads/:id`, `/docs/*`. */
  url: string;
}

const ROUTES = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/**
 * Records every route as Fastify registers it (controllers, docs, static assets), so that tests can walk
 * what is really served rather than what the code is believed to declare. Install before any route.
 */
export function recordRoutes(fastify: FastifyInstance): void {
  const routes: RegisteredRoute[] = [];
  ROUTES.set(fastify, routes);
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method: String(method), url: route.url });
  });
}

export function registeredRoutes(app: NestFastifyApplication | FastifyInstance): RegisteredRoute[] {
  const fastify = 'getHttpAdapter' in app ? app.getHttpAdapter().getInstance() : app;
  return [...(ROUTES.get(fastify) ?? [])];
}
