import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiKeysService } from '../auth/api-keys.service';
import { Caller } from '../auth/scopes';
import { SessionAuthenticator } from '../auth/session-auth';
import { ApiError } from '../common/errors';
import { CONSOLE_CONFIG, ConsoleConfig } from './console-config';
import { ConsoleSessionsStore } from './console-sessions.store';

/** The cookie that carries the session id; HttpOnly, so no script of the page (nor an injected one) can read it. */
export const SESSION_COOKIE = 'card_ledger_session';
/** The header a write made with a session must carry (docs/console.md, "Sign-in, sessions and CSRF"). */
export const CSRF_HEADER = 'x-csrf-token';
/** 32 random bytes, base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A use moves the session's end forward only when that gains a tenth of the idle time (at most a minute): not a write per request. */
const extendStepMs = (idleMs: number) => Math.min(60_000, idleMs / 10);

export interface ConsoleSession {
  name: string;
  scopes: Caller['scopes'];
  expiresAt: string;
  maxExpiresAt: string;
  /** The synchronizer token to send as X-CSRF-Token with every write made with this session. */
  csrfToken: string;
}

const hashOf = (sessionId: string) => createHash('sha256').update(sessionId, 'utf8').digest();

/**
 * The CSRF token of a session: HMAC-SHA256 keyed by the session id. It is the synchronizer token pattern without a
 * stored token: only the server (which sees the HttpOnly cookie) and the page (which is given it by a same-origin
 * JSON answer no other origin can read) know it, and the database holds neither it nor the session id.
 */
const csrfTokenOf = (sessionId: string) => createHmac('sha256', sessionId).update('card-ledger console csrf v1').digest('base64url');

/** True when the request reached us over TLS: only then (or with CONSOLE_SECURE_COOKIE) is the cookie Secure. */
const overTls = (req: FastifyRequest) => req.protocol === 'https';

/**
 * Console sessions: an API key pasted once is exchanged for a random session id in an HttpOnly, SameSite=Strict
 * cookie; the key itself is never kept (not by the browser, not here). A session stands for its key, with the
 * key's scopes, while the key is live, and ends when unused for CONSOLE_SESSION_IDLE_MS, at CONSOLE_SESSION_MAX_MS
 * after sign-in, or at sign-out.
 */
@Injectable()
export class ConsoleSessionsService implements SessionAuthenticator {
  constructor(
    private readonly sessions: ConsoleSessionsStore,
    private readonly keys: ApiKeysService,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  async signIn(apiKey: string, req: FastifyRequest, reply: FastifyReply): Promise<ConsoleSession> {
    const caller = await this.keys.authenticate(apiKey);
    if (!caller) throw new ApiError('unauthorized', 'unknown or revoked API key');
    const sessionId = randomBytes(32).toString('base64url');
    await this.sessions.purgeExpired();
    const row = await this.sessions.insert(hashOf(sessionId), caller.apiKeyId, this.config.sessionIdleMs, this.config.sessionMaxMs);
    void reply.setCookie(SESSION_COOKIE, sessionId, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: this.config.secureCookie || overTls(req),
    });
    return this.view(caller, row.expires_at, row.max_expires_at, sessionId);
  }

  /** The session a request carries, as the page sees it (with its CSRF token); 401 when there is none. */
  async current(req: FastifyRequest): Promise<ConsoleSession> {
    const found = await this.find(req);
    if (!found) throw sessionEnded();
    return this.view(found.caller, found.expiresAt, found.maxExpiresAt, found.sessionId);
  }

  /** Ends the request's session (a write: it needs the CSRF token) and clears the cookie; ending none is no error. */
  async signOut(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const found = await this.find(req);
    if (found) {
      checkCsrf(req, found.sessionId);
      await this.sessions.end(hashOf(found.sessionId));
    }
    void reply.clearCookie(SESSION_COOKIE, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: this.config.secureCookie || overTls(req),
    });
  }

  /** ApiKeyGuard's view: the caller a session cookie stands for; every write also needs the session's CSRF token. */
  async authenticate(req: FastifyRequest): Promise<Caller | null> {
    if (cookieOf(req) === undefined) return null;
    const found = await this.find(req);
    if (!found) throw sessionEnded();
    if (!SAFE_METHODS.has(req.method)) checkCsrf(req, found.sessionId);
    return found.caller;
  }

  private async find(req: FastifyRequest) {
    const sessionId = cookieOf(req);
    if (sessionId === undefined || !SESSION_ID.test(sessionId)) return null;
    const idHash = hashOf(sessionId);
    const r = await this.sessions.findLive(idHash);
    if (r === null) return null;
    let expiresAt = r.expires_at;
    const wanted = Math.min(r.now.getTime() + this.config.sessionIdleMs, r.max_expires_at.getTime());
    if (wanted - expiresAt.getTime() >= extendStepMs(this.config.sessionIdleMs)) {
      expiresAt = (await this.sessions.extend(idHash, new Date(wanted))) ?? expiresAt;
    }
    const caller: Caller = { apiKeyId: r.api_key_id, name: r.name, scopes: r.scopes };
    return { sessionId, caller, expiresAt, maxExpiresAt: r.max_expires_at };
  }

  private view(caller: Caller, expiresAt: Date, maxExpiresAt: Date, sessionId: string): ConsoleSession {
    return {
      name: caller.name,
      scopes: caller.scopes,
      expiresAt: expiresAt.toISOString(),
      maxExpiresAt: maxExpiresAt.toISOString(),
      csrfToken: csrfTokenOf(sessionId),
    };
  }
}

const cookieOf = (req: FastifyRequest): string | undefined => req.cookies?.[SESSION_COOKIE];

const sessionEnded = () =>
  new ApiError('unauthorized', 'no console session, or it has ended (expired, signed out, or its key revoked): sign in again');

function checkCsrf(req: FastifyRequest, sessionId: string): void {
  const given = req.headers[CSRF_HEADER];
  const expected = Buffer.from(csrfTokenOf(sessionId));
  const ok = typeof given === 'string' && Buffer.byteLength(given) === expected.length && timingSafeEqual(Buffer.from(given), expected);
  if (!ok) throw new ApiError('forbidden', `a write made with a console session needs its CSRF token in ${CSRF_HEADER} (missing or wrong)`);
}
