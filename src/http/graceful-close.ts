import type { FastifyInstance } from 'fastify';
import { ApiError } from '../common/errors';

/**
 * Once the server starts closing, every answer says `Connection: close`. Without it a keep-alive
 * connection whose request was in flight at SIGTERM goes idle after its answer and holds server.close()
 * open until the keep-alive timeout (72 s), past the shutdown deadline: the process would exit 1.
 */
export function closeConnectionsWhenClosing(fastify: FastifyInstance): void {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', async (_req, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  // A request that arrives on an open connection while closing: 503 in the API's error shape (Fastify's own
  // return503OnClosing answer has another shape, so it is turned off in app.factory.ts).
  fastify.addHook('onRequest', async () => {
    if (closing) throw new ApiError('service_unavailable', 'the service is shutting down; retry the request');
  });
}
