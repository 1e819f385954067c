import { join } from 'node:path';
import { parseDecimalMinor } from '../common/money';

/**
 * The whole configuration, read once at boot from the environment (names fixed by API.md).
 * Every problem is collected so that one start tells the operator everything that is wrong.
 */
export type Role = 'all' | 'api' | 'worker';

export interface EnKashConfig {
  /** Unset = the in-process simulator is started and used. */
  baseUrl: string | null;
  tokenUrl: string | null;
  partnerId: string;
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  companyId: string;
  cardAccountId: string;
  encryption: boolean;
  timeoutMs: number;
  loadType: string;
  transactionCode: string;
}

export interface SyncConfig {
  concurrency: number;
  maxAttempts: number;
  maxAgeMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  leaseMs: number;
  pollMs: number;
  circuitFailureThreshold: number;
  circuitOpenMs: number;
  /** How long after a possible send a lookup's "absent" is believed (EnKash's visibility lag, unknown). */
  lookupGraceMs: number;
  /** A rejection that followed an unknown outcome reverses a load only this long after the first unknown outcome. */
  rejectionConfirmMs: number;
  /**
   * One EnKash exchange (token fetch, the call, after a 401 a fresh token and the call again) ends within this:
   * 2 × ENKASH_TIMEOUT_MS. The lease must outlast it by LEASE_MARGIN_MS (docs/design.md, "Leases and fences").
   */
  exchangeDeadlineMs: number;
}

/** Audit settings (docs/audit.md, docs/time.md): names beyond API.md's table, in the same style. */
export interface AuditConfig {
  /** How long a read waits for its moment to become final (a transaction that may still commit before it) before a 503. */
  finalWaitMs: number;
  /**
   * The key that keys every seal (HMAC) and signs the chain-head checkpoints (Ed25519, derived): AUDIT_SEAL_KEY,
   * else a key file in DATA_DIR created at the first start. The database never holds it.
   */
  sealKey: { source: 'AUDIT_SEAL_KEY'; material: string } | { source: 'DATA_DIR'; file: string };
  /** Signed chain-head checkpoints, one JSON line each, outside the database. */
  checkpointFile: string;
  checkpointIntervalMs: number;
  /** The complete verifier's schedule; 0 = only on demand. */
  verifyIntervalMs: number;
  /** The sealing queue is "short" while its oldest transaction waits less than this. */
  maxUnsealedAgeMs: number;
}

/** Lease time beyond an exchange's deadline: event-loop stalls, GC pauses, the fence's own round trip. */
export const LEASE_MARGIN_MS = 2000;

/**
 * What the sync worker does when its database is a fork of the one it ran on (docs/operations.md, "Backup and
 * restore"). Every policy first makes every open load lookup-first; then `hold` keeps sends stopped after a restore
 * or clone (another cluster or database) until an operator adopts it, `hold-all` also after a new timeline
 * (failover, point-in-time restore), `proceed` never.
 */
export const FORK_POLICIES = ['hold', 'hold-all', 'proceed'] as const;
export type ForkPolicy = (typeof FORK_POLICIES)[number];

export interface AppConfig {
  port: number;
  host: string;
  databaseUrl: string | null;
  dataDir: string;
  role: Role;
  adminApiKey: string | null;
  maxLoadAmountMinor: bigint;
  /** Per journal entry (a manual transaction: funding, corrections). */
  maxJournalAmountMinor: bigint;
  logLevel: LogLevelName;
  /** Requests per API key (or per IP without a key) per fixed minute, counted in Postgres across instances. */
  rateLimitPerMinute: number;
  enkash: EnKashConfig;
  sync: SyncConfig;
  forkPolicy: ForkPolicy;
  audit: AuditConfig;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** Credentials the simulator accepts when nothing is configured; never valid against the real EnKash. */
export const SIMULATOR_DEFAULTS = {
  partnerId: 'CRMXWB3ZM',
  clientId: 'CEKEP5GSGP',
  clientSecret: 'simulator-client-secret',
  username: '9999999999',
  password: 'simulator-password',
  companyId: 'CEKEP5GSGP',
  cardAccountId: 'CABFIPS',
} as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, dflt: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return dflt;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return dflt;
    }
    return Number(raw);
  };
  const url = (name: string): string | null => {
    const raw = str(name);
    if (raw === undefined) return null;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be an http(s) URL`);
      return null;
    }
  };

  const roleRaw = str('ROLE') ?? 'all';
  if (!['all', 'api', 'worker'].includes(roleRaw)) problems.push(`ROLE must be one of all, api, worker (got "${roleRaw}")`);

  const databaseUrl = str('DATABASE_URL') ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }

  const adminApiKey = str('ADMIN_API_KEY') ?? null;
  if (adminApiKey !== null && adminApiKey.length < 16) problems.push('ADMIN_API_KEY must be at least 16 characters');

  const amountSetting = (name: string, dflt: bigint): bigint => {
    const raw = str(name);
    if (raw === undefined) return dflt;
    const parsed = parseDecimalMinor(raw);
    if (!parsed.ok) problems.push(`${name} ${parsed.message}`);
    return parsed.ok ? parsed.value : dflt;
  };
  const maxLoadAmountMinor = amountSetting('MAX_LOAD_AMOUNT', 20_000_000n);
  // Funding a parent account is one journal entry of crores, not many of a card load's size.
  const maxJournalAmountMinor = amountSetting('MAX_JOURNAL_AMOUNT', 1_000_000_000_000n);

  const logLevel = (str('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);

  const baseUrl = url('ENKASH_BASE_URL');
  const tokenUrl = url('ENKASH_TOKEN_URL');
  const useSimulator = str('ENKASH_BASE_URL') === undefined;
  const cred = (name: string, dflt: string): string => {
    const v = str(name);
    if (v !== undefined) return v;
    if (!useSimulator) problems.push(`${name} is required when ENKASH_BASE_URL is set`);
    return dflt;
  };
  if (!useSimulator && str('ENKASH_TOKEN_URL') === undefined) problems.push('ENKASH_TOKEN_URL is required when ENKASH_BASE_URL is set');
  const encryptionRaw = (str('ENKASH_ENCRYPTION') ?? 'off').toLowerCase();
  if (!['on', 'off'].includes(encryptionRaw)) problems.push(`ENKASH_ENCRYPTION must be on or off (got "${encryptionRaw}")`);

  const enkash: EnKashConfig = {
    baseUrl,
    tokenUrl,
    partnerId: cred('ENKASH_PARTNER_ID', SIMULATOR_DEFAULTS.partnerId),
    clientId: cred('ENKASH_CLIENT_ID', SIMULATOR_DEFAULTS.clientId),
    clientSecret: cred('ENKASH_CLIENT_SECRET', SIMULATOR_DEFAULTS.clientSecret),
    username: cred('ENKASH_USERNAME', SIMULATOR_DEFAULTS.username),
    password: cred('ENKASH_PASSWORD', SIMULATOR_DEFAULTS.password),
    companyId: cred('ENKASH_COMPANY_ID', SIMULATOR_DEFAULTS.companyId),
    cardAccountId: cred('ENKASH_CARD_ACCOUNT_ID', SIMULATOR_DEFAULTS.cardAccountId),
    encryption: encryptionRaw === 'on',
    timeoutMs: int('ENKASH_TIMEOUT_MS', 10_000, 100, 300_000),
    loadType: str('ENKASH_LOAD_TYPE') ?? 'LOAD_MONEY',
    transactionCode: str('ENKASH_TRANSACTION_CODE') ?? 'PRINCIPLE',
  };

  const sync: SyncConfig = {
    concurrency: int('SYNC_CONCURRENCY', 16, 1, 512),
    maxAttempts: int('SYNC_MAX_ATTEMPTS', 12, 1, 1000),
    maxAgeMs: int('SYNC_MAX_AGE_MS', 24 * 3600_000, 1000, 30 * 24 * 3600_000),
    backoffBaseMs: int('SYNC_BACKOFF_BASE_MS', 500, 1, 3600_000),
    backoffCapMs: int('SYNC_BACKOFF_CAP_MS', 5 * 60_000, 1, 24 * 3600_000),
    leaseMs: int('SYNC_LEASE_MS', 30_000, 1000, 3600_000),
    pollMs: int('SYNC_POLL_MS', 200, 10, 60_000),
    circuitFailureThreshold: int('SYNC_CIRCUIT_THRESHOLD', 5, 1, 1000),
    circuitOpenMs: int('SYNC_CIRCUIT_OPEN_MS', 10_000, 100, 3600_000),
    lookupGraceMs: int('SYNC_LOOKUP_GRACE_MS', 30_000, 0, 24 * 3600_000),
    rejectionConfirmMs: int('SYNC_REJECTION_CONFIRM_MS', 10 * 60_000, 0, 7 * 24 * 3600_000),
    exchangeDeadlineMs: 2 * enkash.timeoutMs,
  };
  // Only where the worker runs: an API-only instance never calls EnKash for a load.
  if (roleRaw !== 'api' && sync.leaseMs < sync.exchangeDeadlineMs + LEASE_MARGIN_MS) {
    // Silently stretching the lease would hide that another instance may take a job over mid-exchange.
    problems.push(`SYNC_LEASE_MS (${sync.leaseMs}) must be at least 2 × ENKASH_TIMEOUT_MS (${sync.exchangeDeadlineMs}) + ${LEASE_MARGIN_MS} ms`
      + ` = ${sync.exchangeDeadlineMs + LEASE_MARGIN_MS}: one EnKash exchange (token, call, 401 retry)`
      + " must end inside the worker's lease;"
      + ' raise SYNC_LEASE_MS or lower ENKASH_TIMEOUT_MS');
  }

  // A real EnKash remembers what the other copy sent; the in-process simulator starts empty with every process.
  const forkPolicy = (str('DATABASE_FORK_POLICY') ?? (useSimulator ? 'proceed' : 'hold')).toLowerCase();
  if (!(FORK_POLICIES as readonly string[]).includes(forkPolicy)) {
    problems.push(`DATABASE_FORK_POLICY must be one of ${FORK_POLICIES.join(', ')} (got "${forkPolicy}")`);
  }
  const dataDir = str('DATA_DIR') ?? './.data';
  const sealKeyRaw = str('AUDIT_SEAL_KEY');
  if (sealKeyRaw !== undefined && sealKeyRaw.length < 32) {
    problems.push('AUDIT_SEAL_KEY must be at least 32 characters (e.g. openssl rand -base64 32)');
  }
  const audit: AuditConfig = {
    finalWaitMs: int('LEDGER_FINAL_WAIT_MS', 5000, 0, 60_000),
    sealKey: sealKeyRaw !== undefined ? { source: 'AUDIT_SEAL_KEY', material: sealKeyRaw }
      : { source: 'DATA_DIR', file: join(dataDir, 'audit-seal.key') },
    checkpointFile: str('AUDIT_CHECKPOINT_FILE') ?? join(dataDir, 'audit-checkpoints.jsonl'),
    checkpointIntervalMs: int('AUDIT_CHECKPOINT_INTERVAL_MS', 60_000, 100, 24 * 3600_000),
    verifyIntervalMs: int('AUDIT_VERIFY_INTERVAL_MS', 15 * 60_000, 0, 7 * 24 * 3600_000),
    maxUnsealedAgeMs: int('AUDIT_MAX_UNSEALED_AGE_MS', 5 * 60_000, 1000, 24 * 3600_000),
  };

  const config: AppConfig = {
    port: int('PORT', 3000, 0, 65535),
    host: str('HOST') ?? '127.0.0.1',
    databaseUrl,
    dataDir,
    role: roleRaw as Role,
    adminApiKey,
    maxLoadAmountMinor,
    maxJournalAmountMinor,
    logLevel: logLevel as LogLevelName,
    rateLimitPerMinute: int('RATE_LIMIT_PER_MINUTE', 6000, 1, 1_000_000_000),
    enkash,
    sync,
    forkPolicy: forkPolicy as ForkPolicy,
    audit,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Nest injection token for the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');
