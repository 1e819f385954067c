import { randomBytes } from 'node:crypto';
import {
  DEFAULT_CONFIG,
  DEFAULT_CREDENTIALS,
  DEFAULT_PARENT_BALANCE_MINOR,
  FaultKind,
  FaultSpec,
  parseConfigPatch,
  parseFaultSpec,
  SimEndpoint,
  SimulatorConfig,
  SimulatorConfigPatch,
  SimulatorCredentials,
  SimulatorInputError,
} from './simulator-config';
import { Json, numberLiteral, rupeeNumber } from './simulator-json';

/**
 * EnKash as the simulator plays it: accounts, the record of every application, tokens and faults. No HTTP
 * here (simulator.ts does that); tests drive the same object in-process through `state`.
 */

/** What an endpoint answers: HTTP status plus the envelope fields (the spelling is chosen at rendering). */
export interface Answer {
  httpStatus: number;
  code: number;
  message: string;
  /** undefined = the envelope carries no payload key at all. */
  payload: unknown;
  /** Further top-level envelope keys (e.g. `data` instead of `payload`). */
  extra?: Record<string, unknown>;
}

export interface TxnRecord {
  enKashCardTransactionId: string;
  enkashCardId: string;
  pgReferenceNumber: string | null;
  amountMinor: bigint;
  /** The amount exactly as the client wrote it in JSON, e.g. "0.3". */
  amountText: string;
  balanceAfterMinor: bigint;
  status: string;
  type: string;
  transactionCode: string;
  appliedAtMs: number;
  /** Planted through the admin API rather than sent to /balance. */
  planted: boolean;
}

export interface ActiveFault {
  fault: FaultKind;
  applied: boolean;
  hangMs: number;
}

interface QueuedFault extends FaultSpec {
  remaining: number;
}

/** One card request as the simulator saw it: the evidence of when a send reached EnKash and what it did. */
export interface SimRequest {
  endpoint: Exclude<SimEndpoint, 'token'>;
  /** Wall-clock ms when the request arrived, and when it was handled (after the configured latency); null = not yet. */
  arrivedAtMs: number;
  handledAtMs: number | null;
  fault: FaultKind | null;
  /** The request moved money (a /balance that applied). */
  applied: boolean;
  httpStatus: number | null;
  code: number | null;
}

/** Bounds the request log: the references of the most recent requests, oldest forgotten first. */
const REQUEST_LOG_REFERENCES = 200_000;

const SUCCESS_TEXT = 'Funds allocated from Parent Account to Card by Admin successful';
const CARD_ID = /^EKC[A-Z0-9]{7}$/;
/** Statuses whose money sits on the card; moving a record out of them gives the money back to the parent. */
const HOLDS_MONEY = new Set(['SUCCESS']);

const ok = (payload: unknown): Answer => ({ httpStatus: 200, code: 0, message: 'Success', payload });
const refuse = (httpStatus: number, message: string, payload: unknown = null): Answer => ({ httpStatus, code: 1, message, payload });

/** mulberry32: tiny, seedable, good enough to make fault sequences replay. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SimulatorState {
  readonly credentials: SimulatorCredentials;
  private cfg: SimulatorConfig;
  private parentMinor: bigint;
  private readonly cards = new Map<string, bigint>();
  private txns: TxnRecord[] = [];
  /** The records of each reference, in the order applied: a lookup or a load's duplicate check reads one list, not all. */
  private readonly byReference = new Map<string, TxnRecord[]>();
  private readonly tokens = new Map<string, number>();
  private issued: string[] = [];
  private faults: QueuedFault[] = [];
  private random: () => number;
  private consecutiveFailures = 0;
  private nextTxn = 1;
  tokenIssuedCount = 0;
  failedLoginCount = 0;
  locked = false;
  requestCounts: Record<SimEndpoint, number> = this.zeroCounts();
  /** Card API requests being handled now, and the most at once since the start or the last reset (a client's concurrency). */
  cardCallsInFlight = 0;
  peakCardCallsInFlight = 0;
  private readonly requestLog = new Map<string, SimRequest[]>();

  constructor(
    private readonly initial: SimulatorConfigPatch = {},
    credentials: Partial<SimulatorCredentials> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.credentials = { ...DEFAULT_CREDENTIALS, ...credentials };
    this.cfg = { ...DEFAULT_CONFIG };
    this.parentMinor = DEFAULT_PARENT_BALANCE_MINOR;
    this.random = mulberry32(this.cfg.seed);
    this.setConfig(initial);
  }

  get config(): Readonly<SimulatorConfig> {
    return this.cfg;
  }

  setConfig(patch: SimulatorConfigPatch): void {
    const p = parseConfigPatch(patch);
    const { parentBalanceMinor, ...rest } = p;
    this.cfg = { ...this.cfg, ...rest };
    if (parentBalanceMinor !== undefined) this.parentMinor = parentBalanceMinor;
    if (rest.seed !== undefined) this.random = mulberry32(rest.seed);
  }

  /** Back to the start options: no records, no tokens, no faults, no lock, initial balances. */
  reset(): void {
    this.cfg = { ...DEFAULT_CONFIG };
    this.parentMinor = DEFAULT_PARENT_BALANCE_MINOR;
    this.cards.clear();
    this.txns = [];
    this.byReference.clear();
    this.tokens.clear();
    this.issued = [];
    this.faults = [];
    this.consecutiveFailures = 0;
    this.nextTxn = 1;
    this.tokenIssuedCount = 0;
    this.failedLoginCount = 0;
    this.locked = false;
    this.requestCounts = this.zeroCounts();
    this.peakCardCallsInFlight = this.cardCallsInFlight;
    this.requestLog.clear();
    this.random = mulberry32(this.cfg.seed);
    this.setConfig(this.initial);
  }

  // ---- accounts and records -------------------------------------------------------------------------------

  get parentBalanceMinor(): bigint {
    return this.parentMinor;
  }

  cardBalanceMinor(enKashCardId: string): bigint {
    return this.cards.get(enKashCardId) ?? 0n;
  }

  records(): readonly TxnRecord[] {
    return this.txns;
  }

  appliedCount(reference: string): number {
    return this.recordsOf(reference).length;
  }

  appliedAmountsMinor(reference: string): bigint[] {
    return this.recordsOf(reference).map((t) => t.amountMinor);
  }

  private recordsOf(reference: string): readonly TxnRecord[] {
    return this.byReference.get(reference) ?? [];
  }

  /** Marks every record of a reference (e.g. REVERSED); money follows the status. Returns how many changed. */
  setRecordStatus(reference: string, status: string): number {
    const hit = this.recordsOf(reference);
    for (const t of hit) {
      const before = HOLDS_MONEY.has(t.status);
      const after = HOLDS_MONEY.has(status);
      if (before !== after) this.move(t.enkashCardId, after ? t.amountMinor : -t.amountMinor);
      t.status = status;
    }
    return hit.length;
  }

  /** A record as if EnKash had applied it (an extra application, a load made elsewhere); no funds check. */
  plantApplied(reference: string, enKashCardId: string, amountMinor: bigint): TxnRecord {
    if (amountMinor <= 0n) throw new SimulatorInputError('amount must be positive');
    return this.apply(enKashCardId, amountMinor, rupeeNumber(amountMinor).value, reference, 'LOAD_MONEY', 'PRINCIPLE', true);
  }

  private move(enKashCardId: string, amountMinor: bigint): void {
    this.parentMinor -= amountMinor;
    this.cards.set(enKashCardId, this.cardBalanceMinor(enKashCardId) + amountMinor);
  }

  private apply(
    card: string,
    amountMinor: bigint,
    amountText: string,
    reference: string | null,
    type: string,
    transactionCode: string,
    planted: boolean,
  ): TxnRecord {
    this.move(card, amountMinor);
    const record: TxnRecord = {
      enKashCardTransactionId: `ECT${String(this.nextTxn++).padStart(12, '0')}`,
      enkashCardId: card,
      pgReferenceNumber: reference,
      amountMinor,
      amountText,
      balanceAfterMinor: this.cardBalanceMinor(card),
      status: 'SUCCESS',
      type,
      transactionCode,
      appliedAtMs: this.now(),
      planted,
    };
    this.txns.push(record);
    if (reference !== null) {
      const same = this.byReference.get(reference);
      if (same) same.push(record);
      else this.byReference.set(reference, [record]);
    }
    return record;
  }

  /** Every card request that named this reference (uniqueReferenceNumber or pgReferenceNumber), in arrival order. */
  requestsFor(reference: string): readonly SimRequest[] {
    return this.requestLog.get(reference) ?? [];
  }

  /** Adds a request to its reference's log and returns it, for the handler to complete as it goes. */
  logRequest(reference: string, request: SimRequest): SimRequest {
    let list = this.requestLog.get(reference);
    if (!list) {
      if (this.requestLog.size >= REQUEST_LOG_REFERENCES) this.requestLog.delete(this.requestLog.keys().next().value!);
      list = [];
      this.requestLog.set(reference, list);
    }
    list.push(request);
    return request;
  }

  // ---- tokens ---------------------------------------------------------------------------------------------

  /** Every token ever issued, so tests can check none of them reached a log. In-process only. */
  issuedTokens(): readonly string[] {
    return this.issued;
  }

  revokeTokens(): void {
    this.tokens.clear();
  }

  unlock(): void {
    this.locked = false;
    this.consecutiveFailures = 0;
  }

  login(authorization: string | undefined, form: Json): { httpStatus: number; body: Json } {
    const c = this.credentials;
    const basic = `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`;
    const fail = (httpStatus: number, error: string, description: string) => {
      this.failedLoginCount += 1;
      this.consecutiveFailures += 1;
      if (this.consecutiveFailures >= 3) this.locked = true;
      return { httpStatus, body: { error, error_description: description } };
    };
    if (this.locked) return fail(401, 'invalid_grant', 'User account is locked after 3 failed logins');
    if (form.grant_type !== 'password') return fail(400, 'unsupported_grant_type', 'Unsupported grant type');
    if (authorization !== basic) return fail(401, 'unauthorized', 'Bad client credentials');
    if (form.username !== c.username || form.password !== c.password || form.clientId !== c.clientId) {
      return fail(401, 'invalid_grant', 'Bad credentials');
    }
    this.consecutiveFailures = 0;
    this.tokenIssuedCount += 1;
    const token = randomBytes(24).toString('base64url');
    const ttl = this.cfg.tokenTtlSeconds;
    this.tokens.set(token, this.now() + ttl * 1000);
    this.issued.push(token);
    const body =
      this.cfg.tokenStyle === 'snake'
        ? {
            access_token: token,
            token_type: 'bearer',
            refresh_token: randomBytes(24).toString('base64url'),
            expires_in: ttl,
            scope: 'read write trust',
          }
        : {
            accessToken: token,
            tokenType: 'bearer',
            refreshToken: randomBytes(24).toString('base64url'),
            expiresIn: ttl,
            scope: 'read write trust',
          };
    return { httpStatus: 200, body };
  }

  isValidBearer(authorization: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const expiresAt = m ? this.tokens.get(m[1]) : undefined;
    return expiresAt !== undefined && this.now() < expiresAt;
  }

  // ---- faults ---------------------------------------------------------------------------------------------

  injectFault(spec: FaultSpec): void {
    const s = parseFaultSpec(spec);
    this.faults.push({ ...s, remaining: s.count ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  pendingFaults(): readonly FaultSpec[] {
    return this.faults.map(({ remaining, ...f }) => ({ ...f, count: remaining }));
  }

  /** The one-shot queue first (in order), then the seeded random draw; the token endpoint only from the queue. */
  takeFault(endpoint: SimEndpoint, reference: string | null): ActiveFault | null {
    const j = this.faults.findIndex((f) => matches(f, endpoint) && (f.reference === undefined || f.reference === reference));
    if (j >= 0) {
      const f = this.faults[j];
      if (--f.remaining <= 0) this.faults.splice(j, 1);
      return this.activate(f.fault, f.applied, f.hangMs);
    }
    if (endpoint === 'token' || this.cfg.failureRate <= 0) return null;
    if (this.random() >= this.cfg.failureRate) return null;
    const list = this.cfg.failureFaults;
    return this.activate(list[Math.floor(this.random() * list.length)], undefined, undefined);
  }

  private activate(fault: FaultKind, applied: boolean | undefined, hangMs: number | undefined): ActiveFault {
    const forced = fault.endsWith('-after-apply') ? true : fault === 'timeout-before-apply' || fault === 'reset' ? false : undefined;
    return { fault, applied: forced ?? applied ?? false, hangMs: hangMs ?? this.cfg.hangMs };
  }

  // ---- card endpoints -------------------------------------------------------------------------------------

  /** POST /balance. The body is already decrypted; numbers are LosslessNumbers. */
  load(body: Json): Answer {
    const c = this.credentials;
    const card = body.enKashCardId;
    if (typeof card !== 'string' || card === '') return refuse(400, 'enKashCardId is required');
    if (body.amount === undefined || body.amount === null) return refuse(400, 'amount is required');
    if (typeof body.amount === 'string') return refuse(400, 'amount must be a number');
    const literal = numberLiteral(body.amount);
    if (literal === null) return refuse(400, 'amount must be a number');
    if (!/^-?\d+(\.\d+)?$/.test(literal) || /\.\d{3,}$/.test(literal))
      return refuse(422, 'amount must be a number with at most 2 decimal places');
    if (body.transactionType !== 'CR') return refuse(422, 'Invalid transactionType: only CR is allowed for this card');
    const [whole, frac = ''] = literal.replace(/^-/, '').split('.');
    const minor = (BigInt(whole) * 100n + BigInt(frac.padEnd(2, '0'))) * (literal.startsWith('-') ? -1n : 1n);
    if (minor < 1n) return refuse(422, 'amount must be at least 0.01');
    if (!CARD_ID.test(card)) return refuse(200, 'Invalid card');
    if (body.companyId !== undefined && body.companyId !== c.companyId) return refuse(200, 'Invalid companyId');
    if (body.cardAccountId !== undefined && body.cardAccountId !== c.cardAccountId) return refuse(200, 'Invalid cardAccountId');
    const reference =
      typeof body.uniqueReferenceNumber === 'string' && body.uniqueReferenceNumber !== '' ? body.uniqueReferenceNumber : null;
    if (reference !== null && this.appliedCount(reference) > 0) {
      if (this.cfg.duplicateMode === 'reject') return refuse(200, 'Duplicate reference number', 'Duplicate reference number');
      if (this.cfg.duplicateMode === 'replay') return ok(SUCCESS_TEXT);
    }
    if (this.parentMinor < minor) return refuse(200, 'Insufficient balance in card account', 'Insufficient balance in card account');
    const str = (v: unknown, dflt: string) => (typeof v === 'string' ? v : dflt);
    this.apply(card, minor, literal, reference, str(body.type, 'LOAD_MONEY'), str(body.transactionCode, 'PRINCIPLE'), false);
    return ok(SUCCESS_TEXT);
  }

  /** POST /transaction/all: filters by card and reference; records show only lookupLagMs after applying. */
  lookup(body: Json): Answer {
    const wrong = this.checkAccount(body);
    if (wrong) return wrong;
    const refs: unknown[] | null = Array.isArray(body.pgReferenceNumbers) ? body.pgReferenceNumbers : null;
    const visibleBefore = this.now() - this.cfg.lookupLagMs;
    const shape = this.cfg.lookupShape;
    // Unfiltered shapes play an EnKash that ignores the reference filter and lists the card's history.
    const filtered = !['renamed-reference', 'unfiltered-array', 'unfiltered-page'].includes(shape);
    // Filtered by one reference: only that reference's records can match (the same, in the same order).
    const candidates = filtered && typeof body.pgReferenceNumber === 'string' ? this.recordsOf(body.pgReferenceNumber) : this.txns;
    const found = candidates
      .filter(
        (t) =>
          t.appliedAtMs <= visibleBefore &&
          (typeof body.enKashCardId !== 'string' || t.enkashCardId === body.enKashCardId) &&
          (!filtered || typeof body.pgReferenceNumber !== 'string' || t.pgReferenceNumber === body.pgReferenceNumber) &&
          (!filtered || refs === null || refs.includes(t.pgReferenceNumber)),
      )
      .map(recordView);
    if (found.length === 0 && filtered && this.cfg.lookupNotFound === 'code-1') return refuse(200, 'No records found');
    switch (shape) {
      case 'single':
        return ok(found[0] ?? null);
      case 'content':
        return ok({ content: found, totalElements: found.length, totalPages: 1, number: 0, size: found.length });
      case 'data-key':
        return { ...ok(undefined), extra: { data: found } };
      case 'result-key':
        return { ...ok(undefined), extra: { result: { content: found } } };
      case 'null-payload':
        return ok(null);
      case 'no-payload':
        return ok(undefined);
      case 'renamed-reference':
        return ok(found.map(({ pgReferenceNumber, ...r }) => ({ ...r, referenceNo: pgReferenceNumber })));
      case 'unfiltered-array':
        return ok(found);
      case 'unfiltered-page': {
        // Newest first, two per page: the reference asked about may well be on a later page.
        const page = [...found].reverse().slice(0, 2);
        return ok({
          content: page,
          totalElements: found.length,
          totalPages: Math.ceil(found.length / 2),
          number: 0,
          size: 2,
          last: found.length <= 2,
        });
      }
      case 'array':
        return ok(found);
    }
  }

  /** POST /cardAccount/get */
  parentAccount(body: Json): Answer {
    const wrong = this.checkAccount(body);
    if (wrong) return wrong;
    let onCards = 0n;
    for (const v of this.cards.values()) onCards += v;
    return ok({
      cardAccountId: this.credentials.cardAccountId,
      companyId: this.credentials.companyId,
      availableBalance: rupeeNumber(this.parentMinor),
      availableCardBalance: rupeeNumber(onCards),
      creditLimit: rupeeNumber(0n),
    });
  }

  /** POST /search */
  searchCard(body: Json): Answer {
    const wrong = this.checkAccount(body);
    if (wrong) return wrong;
    const card = body.enKashCardId;
    if (typeof card !== 'string' || card === '') return refuse(400, 'enKashCardId is required');
    if (!CARD_ID.test(card)) return refuse(200, 'Card not found');
    return ok({
      enKashCardId: card,
      cardAccountId: this.credentials.cardAccountId,
      companyId: this.credentials.companyId,
      otbBalance: rupeeNumber(this.cardBalanceMinor(card)),
      cardStatus: 'ACTIVE',
      currency: 'INR',
      maskedCardNumber: `XXXX XXXX XXXX ${card.slice(-4).replace(/[^0-9]/g, '0')}`,
    });
  }

  private checkAccount(body: Json): Answer | null {
    if (body.companyId !== undefined && body.companyId !== this.credentials.companyId) return refuse(200, 'Invalid companyId');
    if (body.cardAccountId !== undefined && body.cardAccountId !== this.credentials.cardAccountId)
      return refuse(200, 'Card account not found');
    return null;
  }

  // ---- views ----------------------------------------------------------------------------------------------

  /** GET /__admin/state: money as decimal strings, no secrets, no tokens. */
  snapshot(): Json {
    const applied: Record<string, number> = {};
    for (const t of this.txns) if (t.pgReferenceNumber !== null) applied[t.pgReferenceNumber] = (applied[t.pgReferenceNumber] ?? 0) + 1;
    const money = (m: bigint) => rupeeNumber(m).value;
    return {
      config: { ...this.cfg },
      parentBalance: money(this.parentMinor),
      cards: Object.fromEntries([...this.cards].map(([k, v]) => [k, money(v)])),
      tokenIssuedCount: this.tokenIssuedCount,
      failedLoginCount: this.failedLoginCount,
      consecutiveFailedLogins: this.consecutiveFailures,
      locked: this.locked,
      activeTokens: [...this.tokens.values()].filter((exp) => exp > this.now()).length,
      requestCounts: { ...this.requestCounts },
      recordCount: this.txns.length,
      applied,
      pendingFaults: this.pendingFaults(),
    };
  }

  private zeroCounts(): Record<SimEndpoint, number> {
    return { token: 0, balance: 0, 'transaction/all': 0, 'cardAccount/get': 0, search: 0 };
  }
}

function matches(f: FaultSpec, endpoint: SimEndpoint): boolean {
  const target = f.endpoint ?? 'any';
  return target === endpoint || (target === 'any' && endpoint !== 'token');
}

export function recordView(t: TxnRecord): Json {
  const at = new Date(t.appliedAtMs).toISOString();
  return {
    enKashCardTransactionId: t.enKashCardTransactionId,
    enkashCardId: t.enkashCardId,
    pgReferenceNumber: t.pgReferenceNumber,
    principalAmount: rupeeNumber(t.amountMinor),
    balance: rupeeNumber(t.balanceAfterMinor),
    cardTransactionType: 'CREDIT',
    status: t.status,
    type: t.type,
    txnDate: at,
    createdOn: at,
    currency: 'INR',
  };
}
