import type { FastifyRequest } from 'fastify';
import { Caller } from './scopes';

/**
 * A credential other than the Authorization header that ApiKeyGuard accepts: the browser console's session
 * cookie (src/console/). Provided by the console module under SESSION_AUTHENTICATOR; the guard works without it.
 */
export interface SessionAuthenticator {
  /**
   * The caller of a request that carries a session, null when it carries none. Throws the API's 401 for a session
   * that has ended, and its 403 for a write without the session's CSRF token.
   */
  authenticate(req: FastifyRequest): Promise<Caller | null>;
}

export const SESSION_AUTHENTICATOR = Symbol('SESSION_AUTHENTICATOR');
