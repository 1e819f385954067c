import { HttpService } from '@nestjs/axios';
import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { assert } from '../common/assert';
import { minorToRupeeNumber } from '../common/money';
import { EnKashConfig } from '../config/app-config';
import { decryptEnKashBody, deriveEnKashKey, encryptEnKashBody } from './enkash.crypto';
import { decodeCard, decodeLookup, decodeParentAccount, Decoded, NOTHING_FOUND } from './enkash.decode';
import { EnKashTokenCache, TokenFetch, TokenResult } from './enkash.token';
import { EnKashTransport, LateAnswer, WireResult } from './enkash.transport';
import {
  EnKashCard,
  EnKashLoadInstruction,
  EnKashLoadResult,
  EnKashLookupResult,
  EnKashLookupScope,
  EnKashOutcome,
  EnKashParentAccount,
  ExchangeDeadline,
} from './enkash.types';
import { Envelope, errorText, isObject, isSuccessCode, JsonObject, parseJsonExact, readEnvelope } from './enkash.wire';

export interface EnKashClientOptions {
  /** After a refused login, how long before one more is attempted (a second refusal stops logins until reset). */
  loginCooldownMs?: number;
  /** How long a timed-out load stays open for a late answer (the sync worker's lookup grace); 0 = cut at once. */
  lateWatchMs?: number;
}

const CARD_API = '/api/v0/partner/enKashCard';
/** Above 15 digits a double no longer holds every paise value, and EnKash wants a JSON number. */
const MAX_SENDABLE_MINOR = 999_999_999_999_999n;
/** Refusals about the envelope: the same for every load, so a misconfiguration, never a rejection of this load. */
const ENCRYPTION_TEXT = /encrypt|decrypt|cipher/i;

type Body = { kind: 'json'; value: unknown } | { kind: 'not-json' } | { kind: 'undecryptable' };
interface CallContext {
  op: string;
  card?: string;
  reference?: string;
}

/** An answer to a call we had given up on at its deadline (see EnKashTransport.post). */
export interface LateEnKashAnswer {
  op: string;
  reference: string | null;
  outcome: EnKashOutcome<unknown>;
  latenessMs: number;
}
/** Lets a lookup read EnKash's code 1 "No records found" as an empty result rather than a rejection. */
type RefusalReader<T> = (env: Envelope) => T | null;

/**
 * The only code that knows EnKash's URLs, headers and formats. Every method returns an EnKashOutcome and
 * never throws for anything EnKash or the network does; secrets never leave this class (not in logs, not in
 * outcome messages).
 */
export class EnKashClient implements OnApplicationShutdown {
  private readonly logger = new Logger(EnKashClient.name);
  private readonly transport: EnKashTransport;
  private readonly tokens: EnKashTokenCache;
  private readonly key: Buffer;
  private readonly baseUrl: string;
  private readonly tokenUrl: string;
  private readonly basicAuth: string;
  private readonly lateListeners: Array<(answer: LateEnKashAnswer) => void> = [];

  constructor(
    private readonly config: EnKashConfig,
    http?: HttpService,
    options: EnKashClientOptions = {},
  ) {
    if (config.baseUrl === null)
      throw new Error('EnKashClient needs config.baseUrl (start the EnKash simulator and pass its URL when none is configured)');
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    // The simulator serves the token endpoint on the same port; real EnKash has a separate token host.
    this.tokenUrl = config.tokenUrl ?? `${this.baseUrl}/oauth/token`;
    this.basicAuth = `Basic ${Buffer.from(`${config.clientId}:${config.clientSecret}`, 'utf8').toString('base64')}`;
    this.key = deriveEnKashKey(config.clientSecret);
    this.transport = new EnKashTransport(config.timeoutMs, http, options.lateWatchMs ?? 0);
    this.tokens = new EnKashTokenCache(() => this.fetchToken(), { loginCooldownMs: options.loginCooldownMs ?? 5 * 60_000 });
  }

  /** POST /balance: moves money from the parent card account onto the card. */
  async loadCard(load: EnKashLoadInstruction, exchange?: ExchangeDeadline): Promise<EnKashOutcome<EnKashLoadResult>> {
    assert(
      typeof load.amountMinor === 'bigint' && load.amountMinor > 0n && load.amountMinor <= MAX_SENDABLE_MINOR,
      'amountMinor must be a positive bigint of at most 15 digits',
    );
    assert(load.reference.length > 0, 'a load needs its reference');
    const body: JsonObject = {
      enKashCardId: load.enKashCardId,
      amount: minorToRupeeNumber(load.amountMinor),
      transactionType: 'CR',
      type: this.config.loadType,
      transactionCode: this.config.transactionCode,
      uniqueReferenceNumber: load.reference,
      companyId: load.companyId ?? this.config.companyId,
      cardAccountId: load.cardAccountId ?? this.config.cardAccountId,
    };
    if (load.description) body.description = load.description;
    if (load.remarks) body.remarks = load.remarks;
    return this.call(
      { op: 'load', card: load.enKashCardId, reference: load.reference },
      '/balance',
      body,
      (payload) => ({ ok: true, value: { payload } }),
      undefined,
      exchange,
    );
  }

  /** POST /transaction/all by pgReferenceNumber (= the uniqueReferenceNumber sent); empty matches = absent. */
  findLoadByReference(
    reference: string,
    scope: EnKashLookupScope,
    exchange?: ExchangeDeadline,
  ): Promise<EnKashOutcome<EnKashLookupResult>> {
    const body = {
      companyId: scope.companyId ?? this.config.companyId,
      cardAccountId: scope.cardAccountId ?? this.config.cardAccountId,
      enKashCardId: scope.enKashCardId,
      pgReferenceNumber: reference,
    };
    const nothingFound = (env: Envelope): EnKashLookupResult | null =>
      NOTHING_FOUND.test(env.message) || (typeof env.payload === 'string' && NOTHING_FOUND.test(env.payload)) ? { matches: [] } : null;
    return this.call(
      { op: 'lookup', card: scope.enKashCardId, reference },
      '/transaction/all',
      body,
      (payload) => decodeLookup(reference, payload),
      nothingFound,
      exchange,
    );
  }

  getParentAccount(): Promise<EnKashOutcome<EnKashParentAccount>> {
    const body = { cardAccountId: this.config.cardAccountId, companyId: this.config.companyId };
    return this.call({ op: 'parent-account' }, '/cardAccount/get', body, decodeParentAccount);
  }

  getCard(enKashCardId: string): Promise<EnKashOutcome<EnKashCard>> {
    const body = { cardAccountId: this.config.cardAccountId, companyId: this.config.companyId, enKashCardId };
    return this.call({ op: 'card-balance', card: enKashCardId }, '/search', body, (payload) => decodeCard(enKashCardId, payload));
  }

  /**
   * Hears the answers EnKash gives to loads after we gave up on them (timeout): how late EnKash can act, and, for a
   * success, proof that the load was applied whatever a lookup shows yet.
   */
  onLateAnswer(listener: (answer: LateEnKashAnswer) => void): void {
    this.lateListeners.push(listener);
  }

  private lateAnswer(ctx: CallContext, outcome: EnKashOutcome<unknown>, latenessMs: number): void {
    const ms = Math.round(latenessMs);
    this.logger.warn(`EnKash ${ctx.op} ref=${ctx.reference ?? '-'} answered ${outcome.kind} ${ms} ms after we gave up on it`);
    for (const listener of this.lateListeners) listener({ op: ctx.op, reference: ctx.reference ?? null, outcome, latenessMs: ms });
  }

  /** Operator action after fixing the credentials: allows logins again after refusals stopped them. */
  resetAuthFailure(): void {
    this.tokens.resetAuthFailure();
  }

  close(): void {
    this.transport.close();
  }

  /** After the workers' beforeApplicationShutdown drain, so no in-flight call loses its socket. */
  onApplicationShutdown(): void {
    this.close();
  }

  private async call<T>(
    ctx: CallContext,
    path: string,
    body: JsonObject,
    decode: (payload: unknown) => Decoded<T>,
    onRefusal?: RefusalReader<T>,
    exchange?: ExchangeDeadline,
  ): Promise<EnKashOutcome<T>> {
    const startedMs = performance.now();
    const elapsed = () => Math.round(performance.now() - startedMs);
    const url = `${this.baseUrl}${CARD_API}${path}`;
    const text = this.config.encryption
      ? JSON.stringify({ request: encryptEnKashBody(JSON.stringify(body), this.key) })
      : JSON.stringify(body);

    const noToken = (t: { reason: string; httpStatus: number | null; message: string }) =>
      this.report<T>(ctx, {
        kind: 'systemic',
        reason: t.reason,
        httpStatus: t.httpStatus,
        code: null,
        message: this.redact(t.message),
        durationMs: elapsed(),
      });

    const deadlineMono = exchange?.deadlineMono ?? Infinity;
    const notSent = (message: string) =>
      this.report<T>(ctx, { kind: 'not_sent', reason: 'deadline', httpStatus: null, code: null, message, durationMs: elapsed() });

    let token = await this.tokenBefore(deadlineMono);
    if (token === null) return notSent('no token before the exchange deadline; nothing was sent');
    if (!token.ok) return noToken(token);
    // Only a load moves money: its abandoned requests are watched for a late answer.
    const onLate =
      ctx.op === 'load' && this.lateListeners.length > 0
        ? (late: LateAnswer) => this.lateAnswer(ctx, this.interpret(late.wire, decode, onRefusal, elapsed()), late.latenessMs)
        : undefined;
    let wire = await this.transport.post(url, text, this.cardHeaders(token.token), deadlineMono, onLate);
    if (wire.kind === 'response' && wire.httpStatus === 401) {
      // One fresh token, one retry: a 401 happens before EnKash processes anything, so re-sending is safe.
      this.logger.warn(`EnKash ${ctx.op} answered 401; fetching a fresh token and retrying once`);
      this.tokens.invalidate(token.token);
      token = await this.tokenBefore(deadlineMono);
      if (token === null) return notSent('answered 401, and no fresh token came before the exchange deadline; nothing was applied');
      if (!token.ok) return noToken(token);
      wire = await this.transport.post(url, text, this.cardHeaders(token.token), deadlineMono, onLate);
    }
    if (wire.kind === 'not-sent') return notSent(wire.message);
    return this.report(ctx, this.interpret(wire, decode, onRefusal, elapsed()));
  }

  /**
   * The shared, single-flight token, or null when the exchange's deadline comes first (the login goes on for
   * other callers; this exchange sends nothing).
   */
  private async tokenBefore(deadlineMono: number): Promise<TokenResult | null> {
    if (deadlineMono === Infinity) return this.tokens.get();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), Math.max(0, deadlineMono - performance.now()))));
    try {
      return await Promise.race([this.tokens.get(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private interpret<T>(
    wire: Exclude<WireResult, { kind: 'not-sent' }>,
    decode: (payload: unknown) => Decoded<T>,
    onRefusal: RefusalReader<T> | undefined,
    durationMs: number,
  ): EnKashOutcome<T> {
    if (wire.kind === 'network') {
      return {
        kind: wire.systemic ? 'systemic' : 'unknown',
        reason: wire.reason,
        httpStatus: null,
        code: null,
        message: this.redact(wire.message),
        durationMs,
      };
    }
    const httpStatus = wire.httpStatus;
    const body = this.readBody(wire.text);
    if (body.kind === 'undecryptable') {
      return {
        kind: 'systemic',
        reason: 'encryption',
        httpStatus,
        code: null,
        message: 'EnKash response could not be decrypted with our key',
        durationMs,
      };
    }
    const env = body.kind === 'json' ? readEnvelope(body.value) : null;
    const code = env?.code ?? null;
    const message = this.redact(describe(httpStatus, env));
    const unknown = (reason: string): EnKashOutcome<T> => ({ kind: 'unknown', reason, httpStatus, code, message, durationMs });
    const systemic = (reason: string): EnKashOutcome<T> => ({ kind: 'systemic', reason, httpStatus, code, message, durationMs });

    if (httpStatus >= 200 && httpStatus < 300) {
      if (env === null) return unknown('non-json');
      if (code === null) return unknown('no-code');
      if (isSuccessCode(code)) {
        const decoded = decode(env.payload);
        if (!decoded.ok) return { kind: 'unknown', reason: 'undecodable-payload', httpStatus, code, message: decoded.message, durationMs };
        return { kind: 'succeeded', value: decoded.value, httpStatus, code, message, durationMs };
      }
      const found = onRefusal?.(env);
      if (found) return { kind: 'succeeded', value: found, httpStatus, code, message, durationMs };
      if (ENCRYPTION_TEXT.test(message)) return systemic('encryption');
      return { kind: 'rejected', httpStatus, code, message, durationMs };
    }
    // "Invalid encrypted request" (422) or "Encryption failed for response" (403) would be answered to every
    // load alike: reversing loads on it would reverse them in bulk for a key or setting problem.
    if ((httpStatus === 400 || httpStatus === 403 || httpStatus === 422) && ENCRYPTION_TEXT.test(message)) return systemic('encryption');
    if (httpStatus === 400 || httpStatus === 422) {
      // A 400 page that is not JSON comes from a proxy or firewall in front of EnKash, not from EnKash
      // judging this load: do not let it reverse anything.
      return env === null ? systemic(`http-${httpStatus}-non-json`) : { kind: 'rejected', httpStatus, code, message, durationMs };
    }
    // 409: a duplicate reference may mean an earlier send was applied; only a lookup can tell.
    if (httpStatus === 408 || httpStatus === 409 || httpStatus === 425 || httpStatus === 429 || httpStatus >= 500)
      return unknown(`http-${httpStatus}`);
    if (httpStatus === 401) return systemic('unauthorized-after-refresh');
    if (httpStatus === 403) return systemic('forbidden');
    if (httpStatus === 404) return systemic('not-found');
    return systemic(`http-${httpStatus}`);
  }

  /** Plain JSON, or EnKash's envelope {"request"|"response": "<base64>"} around it. */
  private readBody(text: string): Body {
    let value: unknown;
    try {
      value = parseJsonExact(text);
    } catch {
      return { kind: 'not-json' };
    }
    if (isObject(value) && !('code' in value) && !('response_code' in value)) {
      const sealed = typeof value.response === 'string' ? value.response : typeof value.request === 'string' ? value.request : null;
      if (sealed !== null) {
        try {
          return { kind: 'json', value: parseJsonExact(decryptEnKashBody(sealed, this.key)) };
        } catch {
          return { kind: 'undecryptable' };
        }
      }
    }
    return { kind: 'json', value };
  }

  private cardHeaders(token: string): Record<string, string> {
    return {
      authorization: `Bearer ${token}`,
      partnerId: this.config.partnerId,
      'Content-Type': 'application/json',
      Accept: 'application/json',
    };
  }

  /** The password grant. Never encrypted; 4xx counts as a failed login at EnKash, anything else does not. */
  private async fetchToken(): Promise<TokenFetch> {
    const form = new URLSearchParams({
      username: this.config.username,
      password: this.config.password,
      grant_type: 'password',
      clientId: this.config.clientId,
    }).toString();
    const wire = await this.transport.post(this.tokenUrl, form, {
      Authorization: this.basicAuth,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    });
    if (wire.kind !== 'response') {
      this.logger.warn(`EnKash login failed on the wire: ${this.redact(wire.message)}`);
      return { kind: 'unavailable', httpStatus: null, message: this.redact(wire.message) };
    }
    let body: unknown = null;
    try {
      body = parseJsonExact(wire.text);
    } catch {
      // An HTML error page: handled by status below.
    }
    const status = wire.httpStatus;
    const text = this.redact(isObject(body) && errorText(body) ? `HTTP ${status}: ${errorText(body)}` : `HTTP ${status}`);
    if (status >= 200 && status < 300) {
      const token = isObject(body) ? (body.access_token ?? body.accessToken) : undefined;
      const expires = isObject(body) ? Number(body.expires_in ?? body.expiresIn) : NaN;
      if (typeof token !== 'string' || token === '') {
        this.logger.warn(`EnKash login answered ${status} without an access token`);
        return { kind: 'unavailable', httpStatus: status, message: `${text} without an access token` };
      }
      this.logger.debug(`EnKash login succeeded; token valid for ${Number.isFinite(expires) ? expires : 'an unstated number of'} s`);
      return { kind: 'issued', token, expiresInSeconds: Number.isFinite(expires) ? expires : 0 };
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      this.logger.error(`EnKash refused the login (${text}); automatic logins are paused so the partner account is not locked`);
      return { kind: 'refused', httpStatus: status, message: text };
    }
    this.logger.warn(`EnKash token endpoint unavailable (${text})`);
    return { kind: 'unavailable', httpStatus: status, message: text };
  }

  private report<T>(ctx: CallContext, outcome: EnKashOutcome<T>): EnKashOutcome<T> {
    const what = [`EnKash ${ctx.op}`, ctx.card ? `card=${maskCardId(ctx.card)}` : '', ctx.reference ? `ref=${ctx.reference}` : '']
      .filter(Boolean)
      .join(' ');
    const how =
      `${outcome.kind}${outcome.kind === 'unknown' || outcome.kind === 'systemic' ? ` (${outcome.reason})` : ''}` +
      ` HTTP ${outcome.httpStatus ?? '-'} code ${outcome.code ?? '-'} in ${outcome.durationMs} ms: ${outcome.message}`;
    if (outcome.kind === 'succeeded') this.logger.debug(`${what} → ${how}`);
    else if (outcome.kind === 'rejected') this.logger.log(`${what} → ${how}`);
    else this.logger.warn(`${what} → ${how}`);
    return outcome;
  }

  /** EnKash's own texts are echoed into outcomes and logs; make sure none of ours rides along. */
  private redact(text: string): string {
    const secrets = [this.config.clientSecret, this.config.password, this.basicAuth.slice(6), this.tokens.current, this.config.username];
    let out = text.length > 500 ? `${text.slice(0, 500)}…` : text;
    for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
    return out;
  }
}

/** "EKCMB7KAEW" → "EKC****AEW": enough to tell cards apart in a log, not enough to use one. */
export function maskCardId(id: string): string {
  return id.length <= 6 ? '****' : `${id.slice(0, 3)}****${id.slice(-3)}`;
}

function describe(httpStatus: number, env: Envelope | null): string {
  if (env === null) return `HTTP ${httpStatus} with a body that is not JSON`;
  const payload = typeof env.payload === 'string' && env.payload !== env.message ? env.payload : '';
  const text = [env.message, payload].filter(Boolean).join(': ');
  return text || `HTTP ${httpStatus}`;
}
