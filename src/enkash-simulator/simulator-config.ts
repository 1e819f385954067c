import { EnKashCredentials, SIMULATOR_DEFAULTS } from '../config/app-config';
import { parseRupeesMinor } from './simulator-json';

/** Every knob of the simulator: the unknowns of ENKASH.md, each playable both ways, plus faults. */

export type DuplicateMode = 'apply-again' | 'reject' | 'replay';
/**
 * How transaction/all answers (its schema is unknown, ENKASH.md). The first three are readable; the others are the
 * odd shapes a client must never read as "absent": records under a top-level `data` or `result` key, code 0 with
 * `payload: null` or no payload at all, the reference under a field named otherwise (filter ignored), and the
 * card's whole history unfiltered as a plain array or as one page of a longer list.
 */
export const LOOKUP_SHAPES = [
  'array',
  'content',
  'single',
  'data-key',
  'result-key',
  'null-payload',
  'no-payload',
  'renamed-reference',
  'unfiltered-array',
  'unfiltered-page',
] as const;
export type LookupShape = (typeof LOOKUP_SHAPES)[number];
export type EnvelopeSpelling = 'code' | 'response_code';

export const FAULT_KINDS = [
  'timeout-after-apply',
  'timeout-before-apply',
  'reset',
  'reset-after-apply',
  'http-500',
  'http-502',
  'http-503',
  'html-502',
  'http-429',
  'no-code',
  'http-401',
  'http-403',
  'http-404',
  'garbled-response',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const ENDPOINTS = ['token', 'balance', 'transaction/all', 'cardAccount/get', 'search'] as const;
export type SimEndpoint = (typeof ENDPOINTS)[number];
/** 'any' = any card endpoint; the token endpoint is hit only by faults that name it. */
export type FaultTarget = SimEndpoint | 'any';

export interface FaultSpec {
  fault: FaultKind;
  /** How many matching requests it hits (default 1). */
  count?: number;
  /** Only requests for this uniqueReferenceNumber / pgReferenceNumber. */
  reference?: string;
  /** Run the request for real before failing it. Fixed for *-after-apply (true), timeout-before-apply and reset (false). */
  applied?: boolean;
  /** How long a timeout fault holds the request before destroying the socket. */
  hangMs?: number;
  endpoint?: FaultTarget;
}

export interface SimulatorConfig {
  duplicateMode: DuplicateMode;
  latencyMs: number;
  /** Probability that a card request draws a fault from failureFaults (seeded, so runs replay). */
  failureRate: number;
  failureFaults: FaultKind[];
  seed: number;
  /** A record appears in transaction/all only this long after it was applied. */
  lookupLagMs: number;
  lookupShape: LookupShape;
  /** What transaction/all answers when nothing matches: the shape's empty value, or code 1 "No records found". */
  lookupNotFound: 'empty' | 'code-1';
  envelope: EnvelopeSpelling;
  /** Send code as "0" rather than 0. */
  codeAsString: boolean;
  encryption: boolean;
  /** The docs print `request` as the key of encrypted responses; `response` is the other plausible one. */
  encryptedResponseKey: 'request' | 'response';
  tokenTtlSeconds: number;
  /** snake: access_token/expires_in (card pages); camel: accessToken/expiresIn (payout pages). */
  tokenStyle: 'snake' | 'camel';
  /** Default hold for timeout faults. */
  hangMs: number;
}

/** The credentials it accepts: those a client is configured with. */
export type SimulatorCredentials = EnKashCredentials;

export type SimulatorConfigPatch = Partial<SimulatorConfig> & { parentBalanceMinor?: bigint };

export const DEFAULT_CONFIG: SimulatorConfig = {
  duplicateMode: 'apply-again',
  latencyMs: 0,
  failureRate: 0,
  failureFaults: ['timeout-after-apply', 'timeout-before-apply', 'reset', 'http-502', 'html-502', 'http-503', 'no-code'],
  seed: 42,
  lookupLagMs: 0,
  lookupShape: 'array',
  lookupNotFound: 'empty',
  envelope: 'code',
  codeAsString: false,
  encryption: false,
  encryptedResponseKey: 'request',
  tokenTtlSeconds: 86399,
  tokenStyle: 'snake',
  hangMs: 30_000,
};

/** Enough for any test load; the CLI's --parent-balance changes it. */
export const DEFAULT_PARENT_BALANCE_MINOR = 10_000_000_000n;

export const DEFAULT_CREDENTIALS: SimulatorCredentials = { ...SIMULATOR_DEFAULTS };

export class SimulatorInputError extends Error {}

const oneOf = <const T extends string>(name: string, allowed: readonly T[], v: unknown): T => {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new SimulatorInputError(`${name} must be one of ${allowed.join(', ')}`);
};
const numberIn = (name: string, min: number, max: number, v: unknown, integer = true): number => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new SimulatorInputError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return n;
};
const bool = (name: string, v: unknown): boolean => {
  if (typeof v === 'boolean') return v;
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  throw new SimulatorInputError(`${name} must be true/false or on/off`);
};

/** Validates a patch from the admin API, the CLI or a test; unknown keys are an error, not silently ignored. */
export function parseConfigPatch(input: unknown): SimulatorConfigPatch {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SimulatorInputError('config must be a JSON object');
  const out: SimulatorConfigPatch = {};
  for (const [key, v] of Object.entries(input)) {
    if (v === undefined) continue;
    switch (key) {
      case 'duplicateMode':
        out.duplicateMode = oneOf(key, ['apply-again', 'reject', 'replay'], v);
        break;
      case 'latencyMs':
        out.latencyMs = numberIn(key, 0, 600_000, v);
        break;
      case 'failureRate':
        out.failureRate = numberIn(key, 0, 1, v, false);
        break;
      case 'failureFaults':
        if (!Array.isArray(v) || v.length === 0) throw new SimulatorInputError('failureFaults must be a non-empty list of faults');
        out.failureFaults = v.map((f) => oneOf('failureFaults[]', FAULT_KINDS, f));
        break;
      case 'seed':
        out.seed = numberIn(key, 0, 2 ** 32 - 1, v);
        break;
      case 'lookupLagMs':
        out.lookupLagMs = numberIn(key, 0, 3_600_000, v);
        break;
      case 'lookupShape':
        out.lookupShape = oneOf(key, LOOKUP_SHAPES, v);
        break;
      case 'lookupNotFound':
        out.lookupNotFound = oneOf(key, ['empty', 'code-1'], v);
        break;
      case 'envelope':
        out.envelope = oneOf(key, ['code', 'response_code'], v);
        break;
      case 'codeAsString':
        out.codeAsString = bool(key, v);
        break;
      case 'encryption':
        out.encryption = bool(key, v);
        break;
      case 'encryptedResponseKey':
        out.encryptedResponseKey = oneOf(key, ['request', 'response'], v);
        break;
      case 'tokenTtlSeconds':
        out.tokenTtlSeconds = numberIn(key, 1, 10 * 365 * 86400, v);
        break;
      case 'tokenStyle':
        out.tokenStyle = oneOf(key, ['snake', 'camel'], v);
        break;
      case 'hangMs':
        out.hangMs = numberIn(key, 0, 600_000, v);
        break;
      case 'parentBalance':
      case 'parentBalanceMinor': {
        const minor = typeof v === 'bigint' ? v : parseRupeesMinor(v);
        if (minor === null || minor < 0n)
          throw new SimulatorInputError('parentBalance must be rupees with at most 2 decimals, such as "1000000.00"');
        out.parentBalanceMinor = minor;
        break;
      }
      default:
        throw new SimulatorInputError(`unknown config key ${key}`);
    }
  }
  return out;
}

export function parseFaultSpec(input: unknown): FaultSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SimulatorInputError('fault must be a JSON object');
  const o = input as Record<string, unknown>;
  const spec: FaultSpec = { fault: oneOf('fault', FAULT_KINDS, o.fault) };
  if (o.count !== undefined) spec.count = numberIn('count', 1, 1_000_000, o.count);
  if (o.reference !== undefined) {
    if (typeof o.reference !== 'string' || o.reference === '') throw new SimulatorInputError('reference must be a non-empty string');
    spec.reference = o.reference;
  }
  if (o.applied !== undefined) spec.applied = bool('applied', o.applied);
  if (o.hangMs !== undefined) spec.hangMs = numberIn('hangMs', 0, 600_000, o.hangMs);
  if (o.endpoint !== undefined) spec.endpoint = oneOf('endpoint', [...ENDPOINTS, 'any'], o.endpoint);
  return spec;
}
