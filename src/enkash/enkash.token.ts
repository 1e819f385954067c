/**
 * The bearer token: cached until shortly before expiry, fetched single-flight, and never fetched in a loop.
 * Three consecutive failed logins lock the partner account at EnKash (ENKASH.md "Token"), so a refused login
 * stops automatic logins for a cool-down, and a second consecutive refusal stops them until an operator
 * calls resetAuthFailure(): this process can never be the one that makes the third failure.
 */

export type TokenFetch =
  | { kind: 'issued'; token: string; expiresInSeconds: number }
  /** The token endpoint answered 4xx: bad credentials, locked account, IP not whitelisted… Counts as a failed login. */
  | { kind: 'refused'; httpStatus: number | null; message: string }
  /** 5xx, timeout, network, malformed 2xx: EnKash did not judge the credentials. */
  | { kind: 'unavailable'; httpStatus: number | null; message: string };

type TokenFailure = {
  ok: false;
  reason: 'login-failed' | 'login-suspended' | 'token-unavailable';
  httpStatus: number | null;
  message: string;
};
export type TokenResult = { ok: true; token: string } | TokenFailure;

export interface TokenCacheOptions {
  /** After one refused login, how long no login is attempted. */
  loginCooldownMs: number;
  now?: () => number;
}

/** EnKash's prose says tokens last 5 minutes; used only when a response carries no usable expires_in. */
const FALLBACK_LIFETIME_SECONDS = 300;
/** Consecutive refusals after which only resetAuthFailure() allows another login (EnKash locks at 3). */
const MAX_AUTOMATIC_REFUSALS = 2;

export class EnKashTokenCache {
  private token: string | null = null;
  private refreshAtMs = 0;
  private expiresAtMs = 0;
  private inFlight: Promise<TokenResult> | null = null;
  private refusals = 0;
  private lastRefusal: { atMs: number; httpStatus: number | null; message: string } | null = null;
  private readonly now: () => number;

  constructor(
    private readonly fetchToken: () => Promise<TokenFetch>,
    private readonly options: TokenCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The token currently held, for redaction only. */
  get current(): string | null {
    return this.token;
  }

  get(): Promise<TokenResult> {
    if (this.token !== null && this.now() < this.refreshAtMs) return Promise.resolve({ ok: true, token: this.token });
    const suspended = this.suspension();
    if (suspended) return Promise.resolve(this.stillValid() ?? suspended);
    // Every concurrent caller waits on the same login: one request to the token endpoint, whatever the load.
    this.inFlight ??= this.login().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** After a 401: drop the token that was refused, unless a newer one already replaced it. */
  invalidate(token: string): void {
    if (this.token === token) {
      this.token = null;
      this.refreshAtMs = 0;
      this.expiresAtMs = 0;
    }
  }

  resetAuthFailure(): void {
    this.refusals = 0;
    this.lastRefusal = null;
  }

  /** Inside the refresh-ahead window the old token still works: use it when a new one cannot be had. */
  private stillValid(): TokenResult | null {
    return this.token !== null && this.now() < this.expiresAtMs ? { ok: true, token: this.token } : null;
  }

  private suspension(): TokenResult | null {
    const last = this.lastRefusal;
    if (last === null) return null;
    if (this.refusals >= MAX_AUTOMATIC_REFUSALS) {
      return failure(
        'login-suspended',
        last.httpStatus,
        `EnKash refused ${this.refusals} logins in a row (last: ${last.message}); automatic logins stopped so the partner account ` +
          'is not locked. Fix the credentials, then call resetAuthFailure()',
      );
    }
    const waitMs = last.atMs + this.options.loginCooldownMs - this.now();
    if (waitMs <= 0) return null;
    return failure(
      'login-suspended',
      last.httpStatus,
      `EnKash refused the last login (${last.message}); no login is attempted for another ${Math.ceil(waitMs / 1000)} s`,
    );
  }

  private async login(): Promise<TokenResult> {
    const startedMs = this.now();
    const got = await this.fetchToken();
    if (got.kind === 'issued') {
      this.refusals = 0;
      this.lastRefusal = null;
      const lifetimeMs = (got.expiresInSeconds > 0 ? got.expiresInSeconds : FALLBACK_LIFETIME_SECONDS) * 1000;
      // Refresh early so a token never expires in flight: 10 % of its life, at most a minute.
      this.token = got.token;
      this.refreshAtMs = startedMs + lifetimeMs - Math.min(60_000, lifetimeMs / 10);
      this.expiresAtMs = startedMs + lifetimeMs;
      return { ok: true, token: got.token };
    }
    if (got.kind === 'refused') {
      this.refusals += 1;
      this.lastRefusal = { atMs: this.now(), httpStatus: got.httpStatus, message: got.message };
      return this.stillValid() ?? failure('login-failed', got.httpStatus, `EnKash refused the login: ${got.message}`);
    }
    return this.stillValid() ?? failure('token-unavailable', got.httpStatus, `EnKash token endpoint unavailable: ${got.message}`);
  }
}

function failure(reason: TokenFailure['reason'], httpStatus: number | null, message: string): TokenFailure {
  return { ok: false, reason, httpStatus, message };
}
