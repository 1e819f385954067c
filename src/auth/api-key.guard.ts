import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/errors';
import { ApiKeysService } from './api-keys.service';
import { Caller, hasScope, PUBLIC_KEY, Scope, SCOPES_KEY } from './scopes';
import { SESSION_AUTHENTICATOR, SessionAuthenticator } from './session-auth';

export type AuthedRequest = FastifyRequest & { caller?: Caller };

/**
 * Global guard: secure by default, a route is reachable only when it declares @Public or @RequireScopes. The caller
 * is an API key (Authorization: Bearer), or, without that header, a console session cookie standing for one.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    @Optional() @Inject(SESSION_AUTHENTICATOR) private readonly sessions?: SessionAuthenticator,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const needed = this.reflector.getAllAndOverride<Scope[]>(SCOPES_KEY, targets) ?? [];
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const caller = await this.callerOf(req);
    req.caller = caller;
    if (needed.length === 0 || !hasScope(caller, needed)) {
      throw new ApiError('forbidden', `this API key lacks the scope required here (${needed.join(' or ') || 'none granted'})`);
    }
    return true;
  }

  private async callerOf(req: AuthedRequest): Promise<Caller> {
    const header = req.headers.authorization;
    if (header === undefined && this.sessions) {
      const session = await this.sessions.authenticate(req);
      if (session) return session;
    }
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new ApiError('unauthorized', 'missing or malformed Authorization: Bearer <apiKey>');
    const caller = await this.keys.authenticateOnce(req, match[1]);
    if (!caller) throw new ApiError('unauthorized', 'unknown or revoked API key');
    return caller;
  }
}
