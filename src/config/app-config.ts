import { join } from 'node:path';
import { z } from 'zod';
import { parseDecimalMinor } from '../common/money';

/**
 * The whole configuration, read once at boot from the environment (names fixed by API.md) and injected as
 * APP_CONFIG (features take their slice from it: webhooks/webhook-config.ts, console/console-config.ts).
 * Every problem is collected so that one start tells the operator everything that is wrong. Nothing reads
 * process.env after this.
 */
export type Role = 'all' | 'api' | 'worker';

/** What identifies this partner to EnKash (ENKASH_PARTNER_ID … ENKASH_CARD_ACCOUNT_ID); the simulator checks the same. */
export interface EnKashCredentials {
  partnerId: string;
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  companyId: string;
  cardAccountId: string;
}

export interface EnKashConfig extends EnKashCredentials {
  /** Unset = the in-process simulator is started and used. */
  baseUrl: string | null;
  tokenUrl: string | null;
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
  webhooks: WebhookConfig;
  console: ConsoleConfig;
  reconciliation: ReconciliationConfig;
  readReplica: ReadReplicaConfig;
}

/**
 * Auditor reads from a streaming replica (docs/operations.md, "Read replicas"). Unset url: every read goes to the
 * primary, as without this feature.
 */
export interface ReadReplicaConfig {
  /** DATABASE_READ_URL: a hot standby of DATABASE_URL's database (or a pooler/HAProxy port in front of several). */
  url: string | null;
  /** DATABASE_READ_MAX_LAG_MS: a replica further behind than this serves nothing that is not already proven final. */
  maxLagMs: number;
}

/** Webhook settings (WEBHOOK_*, docs/webhooks.md). */
export interface WebhookConfig {
  /** Per delivery attempt, connect to last byte. */
  timeoutMs: number;
  concurrency: number;
  pollMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Retries continue at least this long after the event (or a manual redelivery), then the delivery is failed. */
  maxAgeMs: number;
  leaseMs: number;
  secretKey: SecretKeySource | null;
  /** false (the default): targets must be public addresses, see webhook-target-guard.ts. */
  allowPrivateUrls: boolean;
}

/**
 * Where the key that encrypts signing secrets at rest comes from, in order: WEBHOOK_SECRET_KEY; else
 * ADMIN_API_KEY (already a shared secret of every instance); else, with the embedded database only, a key file
 * generated in DATA_DIR next to the data it protects. With none of these, subscriptions cannot be created.
 */
export type SecretKeySource = { source: 'WEBHOOK_SECRET_KEY' | 'ADMIN_API_KEY'; material: string } | { source: 'DATA_DIR'; file: string };

/** Console settings (CONSOLE_*, docs/console.md). */
export interface ConsoleConfig {
  /** A session unused this long ends (each use moves its end forward). */
  sessionIdleMs: number;
  /** A session ends this long after sign-in, however busy. */
  sessionMaxMs: number;
  /**
   * Mark the session cookie Secure on every answer, not only on requests that came over TLS: for a service
   * behind a proxy that terminates TLS (the request reaches us as plain HTTP, the browser speaks HTTPS).
   */
  secureCookie: boolean;
}

export interface ReconciliationConfig {
  /** RECONCILE_INTERVAL_MS: the scheduled run's period where the worker runs (default one hour). */
  intervalMs: number;
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

/*
 * One zod schema over the environment. zod rather than class-validator with @nestjs/config: the settings are
 * strings to parse (integers in ranges, amounts, URLs, enums) with messages that API.md and the operators' runbooks
 * quote, and cross-field rules (the lease against the EnKash timeout, credentials with ENKASH_BASE_URL); zod states
 * each as a parser with its own message, collects every issue of one pass, and infers the parsed types, while
 * @nestjs/config would also read .env files (not a behaviour of this service) and class-validator needs a class and
 * transform decorators per setting. Each field parser reports a bad value and stands its default in, so the
 * cross-field rules still run and one start lists every problem.
 */
const problem = (ctx: z.RefinementCtx, message: string) => ctx.addIssue({ code: 'custom', message });
/** Unset or blank is unset; values are trimmed. */
const trimmed = (raw: string | undefined): string | undefined => (raw === undefined || raw.trim() === '' ? undefined : raw.trim());

const str = () => z.string().optional().transform(trimmed);
/** An EnKash credential: required when ENKASH_BASE_URL is set (checked with the other cross-field rules). */
const cred = str;
const str_ = <T extends string>(dflt: T) => str().transform((v) => v ?? dflt);

const int = (name: string, dflt: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((given, ctx) => {
      const raw = trimmed(given);
      if (raw === undefined) return dflt;
      if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
        problem(ctx, `${name} must be an integer from ${min} to ${max} (got "${raw}")`);
        return dflt;
      }
      return Number(raw);
    });

const url = (name: string) =>
  z
    .string()
    .optional()
    .transform((given, ctx): string | null => {
      const raw = trimmed(given);
      if (raw === undefined) return null;
      try {
        const u = new URL(raw);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
        return raw.replace(/\/+$/, '');
      } catch {
        problem(ctx, `${name} must be an http(s) URL`);
        return null;
      }
    });

const amountSetting = (name: string, dflt: bigint) =>
  z
    .string()
    .optional()
    .transform((given, ctx) => {
      const raw = trimmed(given);
      if (raw === undefined) return dflt;
      const parsed = parseDecimalMinor(raw);
      if (!parsed.ok) problem(ctx, `${name} ${parsed.message}`);
      return parsed.ok ? parsed.value : dflt;
    });

/** One of `values`; the value as given (lower-cased when `lower`) stays in the result for the rules that read it. */
const oneOf = (name: string, values: readonly string[], message: string, opts: { lower?: boolean; dflt?: string } = {}) =>
  z
    .string()
    .optional()
    .transform((given, ctx): string | undefined => {
      const raw = trimmed(given);
      const v = raw === undefined ? opts.dflt : opts.lower ? raw.toLowerCase() : raw;
      if (v !== undefined && !values.includes(v)) problem(ctx, `${name} must be ${message} (got "${v}")`);
      return v;
    });

/** true or false (any case); the message quotes the value exactly as given. */
const flag = (name: string) =>
  z
    .string()
    .optional()
    .transform((given, ctx) => {
      const raw = given?.trim().toLowerCase();
      if (raw !== undefined && raw !== '' && raw !== 'true' && raw !== 'false')
        problem(ctx, `${name} must be true or false (got "${given}")`);
      return raw === 'true';
    });

const minLength = (name: string, min: number, hint = '') =>
  str().superRefine((v, ctx) => {
    if (v !== undefined && v.length < min) problem(ctx, `${name} must be at least ${min} characters${hint}`);
  });

/** A postgres:// URL; the message never quotes it (it may hold a password). */
const postgresUrl = (name: string) =>
  str().superRefine((v, ctx) => {
    if (v !== undefined && !/^postgres(ql)?:\/\//.test(v)) problem(ctx, `${name} must be a postgres:// or postgresql:// URL`);
  });

const day = 24 * 3600_000;
const KEY_HINT = ' (e.g. openssl rand -base64 32)';

const envSchema = z.object({
  ROLE: oneOf('ROLE', ['all', 'api', 'worker'], 'one of all, api, worker', { dflt: 'all' }),
  DATABASE_URL: postgresUrl('DATABASE_URL'),
  DATABASE_READ_URL: postgresUrl('DATABASE_READ_URL'),
  DATABASE_READ_MAX_LAG_MS: int('DATABASE_READ_MAX_LAG_MS', 5000, 0, 3600_000),
  ADMIN_API_KEY: minLength('ADMIN_API_KEY', 16),
  MAX_LOAD_AMOUNT: amountSetting('MAX_LOAD_AMOUNT', 20_000_000n),
  // Funding a parent account is one journal entry of crores, not many of a card load's size.
  MAX_JOURNAL_AMOUNT: amountSetting('MAX_JOURNAL_AMOUNT', 1_000_000_000_000n),
  LOG_LEVEL: oneOf('LOG_LEVEL', LOG_LEVELS, `one of ${LOG_LEVELS.join(', ')}`, { lower: true, dflt: 'info' }),
  ENKASH_BASE_URL: url('ENKASH_BASE_URL'),
  ENKASH_TOKEN_URL: url('ENKASH_TOKEN_URL'),
  ENKASH_PARTNER_ID: cred(),
  ENKASH_CLIENT_ID: cred(),
  ENKASH_CLIENT_SECRET: cred(),
  ENKASH_USERNAME: cred(),
  ENKASH_PASSWORD: cred(),
  ENKASH_COMPANY_ID: cred(),
  ENKASH_CARD_ACCOUNT_ID: cred(),
  ENKASH_ENCRYPTION: oneOf('ENKASH_ENCRYPTION', ['on', 'off'], 'on or off', { lower: true, dflt: 'off' }),
  ENKASH_TIMEOUT_MS: int('ENKASH_TIMEOUT_MS', 10_000, 100, 300_000),
  ENKASH_LOAD_TYPE: str_('LOAD_MONEY'),
  ENKASH_TRANSACTION_CODE: str_('PRINCIPLE'),
  SYNC_CONCURRENCY: int('SYNC_CONCURRENCY', 16, 1, 512),
  SYNC_MAX_ATTEMPTS: int('SYNC_MAX_ATTEMPTS', 12, 1, 1000),
  SYNC_MAX_AGE_MS: int('SYNC_MAX_AGE_MS', day, 1000, 30 * day),
  SYNC_BACKOFF_BASE_MS: int('SYNC_BACKOFF_BASE_MS', 500, 1, 3600_000),
  SYNC_BACKOFF_CAP_MS: int('SYNC_BACKOFF_CAP_MS', 5 * 60_000, 1, day),
  SYNC_LEASE_MS: int('SYNC_LEASE_MS', 30_000, 1000, 3600_000),
  SYNC_POLL_MS: int('SYNC_POLL_MS', 200, 10, 60_000),
  SYNC_CIRCUIT_THRESHOLD: int('SYNC_CIRCUIT_THRESHOLD', 5, 1, 1000),
  SYNC_CIRCUIT_OPEN_MS: int('SYNC_CIRCUIT_OPEN_MS', 10_000, 100, 3600_000),
  SYNC_LOOKUP_GRACE_MS: int('SYNC_LOOKUP_GRACE_MS', 30_000, 0, day),
  SYNC_REJECTION_CONFIRM_MS: int('SYNC_REJECTION_CONFIRM_MS', 10 * 60_000, 0, 7 * day),
  // Its default depends on ENKASH_BASE_URL (toConfig).
  DATABASE_FORK_POLICY: oneOf('DATABASE_FORK_POLICY', FORK_POLICIES, `one of ${FORK_POLICIES.join(', ')}`, { lower: true }),
  DATA_DIR: str_('./.data'),
  AUDIT_SEAL_KEY: minLength('AUDIT_SEAL_KEY', 32, KEY_HINT),
  LEDGER_FINAL_WAIT_MS: int('LEDGER_FINAL_WAIT_MS', 5000, 0, 60_000),
  AUDIT_CHECKPOINT_FILE: str(),
  AUDIT_CHECKPOINT_INTERVAL_MS: int('AUDIT_CHECKPOINT_INTERVAL_MS', 60_000, 100, day),
  AUDIT_VERIFY_INTERVAL_MS: int('AUDIT_VERIFY_INTERVAL_MS', 15 * 60_000, 0, 7 * day),
  AUDIT_MAX_UNSEALED_AGE_MS: int('AUDIT_MAX_UNSEALED_AGE_MS', 5 * 60_000, 1000, day),
  PORT: int('PORT', 3000, 0, 65535),
  HOST: str_('127.0.0.1'),
  RATE_LIMIT_PER_MINUTE: int('RATE_LIMIT_PER_MINUTE', 6000, 1, 1_000_000_000),
  RECONCILE_INTERVAL_MS: int('RECONCILE_INTERVAL_MS', 3600_000, 1000, 7 * day),
  WEBHOOK_TIMEOUT_MS: int('WEBHOOK_TIMEOUT_MS', 5000, 100, 60_000),
  WEBHOOK_CONCURRENCY: int('WEBHOOK_CONCURRENCY', 8, 1, 256),
  WEBHOOK_POLL_MS: int('WEBHOOK_POLL_MS', 250, 10, 60_000),
  WEBHOOK_BACKOFF_BASE_MS: int('WEBHOOK_BACKOFF_BASE_MS', 1000, 1, 3600_000),
  WEBHOOK_BACKOFF_CAP_MS: int('WEBHOOK_BACKOFF_CAP_MS', 3600_000, 1, day),
  WEBHOOK_MAX_AGE_MS: int('WEBHOOK_MAX_AGE_MS', day, 1000, 30 * day),
  WEBHOOK_LEASE_MS: int('WEBHOOK_LEASE_MS', 30_000, 1000, 3600_000),
  WEBHOOK_ALLOW_PRIVATE_URLS: flag('WEBHOOK_ALLOW_PRIVATE_URLS'),
  WEBHOOK_SECRET_KEY: minLength('WEBHOOK_SECRET_KEY', 32, KEY_HINT),
  CONSOLE_SESSION_IDLE_MS: int('CONSOLE_SESSION_IDLE_MS', 1800_000, 1000, day),
  CONSOLE_SESSION_MAX_MS: int('CONSOLE_SESSION_MAX_MS', 8 * 3600_000, 1000, 7 * day),
  CONSOLE_SECURE_COOKIE: flag('CONSOLE_SECURE_COOKIE'),
});
type Settings = z.output<typeof envSchema>;

/** Every environment variable the service reads (docker-compose.yml and the docs are checked against it). */
export const CONFIG_NAMES: readonly string[] = Object.keys(envSchema.shape);

/** The EnKash credentials, each required once ENKASH_BASE_URL is set. */
export const CREDENTIALS = [
  'ENKASH_PARTNER_ID',
  'ENKASH_CLIENT_ID',
  'ENKASH_CLIENT_SECRET',
  'ENKASH_USERNAME',
  'ENKASH_PASSWORD',
  'ENKASH_COMPANY_ID',
  'ENKASH_CARD_ACCOUNT_ID',
] as const;

/** The rules between settings; they run even when a field was bad (with its default standing in). */
function crossChecks(s: Settings, ctx: z.RefinementCtx, env: Env): void {
  // The simulator is used when ENKASH_BASE_URL is unset, not when it is malformed (that is a problem of its own).
  if (trimmed(env.ENKASH_BASE_URL) !== undefined) {
    for (const name of CREDENTIALS) if (s[name] === undefined) problem(ctx, `${name} is required when ENKASH_BASE_URL is set`);
    if (trimmed(env.ENKASH_TOKEN_URL) === undefined) problem(ctx, 'ENKASH_TOKEN_URL is required when ENKASH_BASE_URL is set');
  }
  const exchangeDeadlineMs = 2 * s.ENKASH_TIMEOUT_MS;
  // Only where the worker runs: an API-only instance never calls EnKash for a load.
  if (s.ROLE !== 'api' && s.SYNC_LEASE_MS < exchangeDeadlineMs + LEASE_MARGIN_MS) {
    // Silently stretching the lease would hide that another instance may take a job over mid-exchange.
    problem(
      ctx,
      `SYNC_LEASE_MS (${s.SYNC_LEASE_MS}) must be at least 2 × ENKASH_TIMEOUT_MS (${exchangeDeadlineMs}) + ${LEASE_MARGIN_MS} ms` +
        ` = ${exchangeDeadlineMs + LEASE_MARGIN_MS}: one EnKash exchange (token, call, 401 retry) must end inside the worker's lease;` +
        ' raise SYNC_LEASE_MS or lower ENKASH_TIMEOUT_MS',
    );
  }
  const { CONSOLE_SESSION_IDLE_MS: idle, CONSOLE_SESSION_MAX_MS: max } = s;
  if (idle > max) problem(ctx, `CONSOLE_SESSION_IDLE_MS (${idle}) must not exceed CONSOLE_SESSION_MAX_MS (${max})`);
}

/** The parsed settings in the shape the code reads. */
function toConfig(s: Settings): AppConfig {
  const useSimulator = s.ENKASH_BASE_URL === null;
  const enkash: EnKashConfig = {
    baseUrl: s.ENKASH_BASE_URL,
    tokenUrl: s.ENKASH_TOKEN_URL,
    partnerId: s.ENKASH_PARTNER_ID ?? SIMULATOR_DEFAULTS.partnerId,
    clientId: s.ENKASH_CLIENT_ID ?? SIMULATOR_DEFAULTS.clientId,
    clientSecret: s.ENKASH_CLIENT_SECRET ?? SIMULATOR_DEFAULTS.clientSecret,
    username: s.ENKASH_USERNAME ?? SIMULATOR_DEFAULTS.username,
    password: s.ENKASH_PASSWORD ?? SIMULATOR_DEFAULTS.password,
    companyId: s.ENKASH_COMPANY_ID ?? SIMULATOR_DEFAULTS.companyId,
    cardAccountId: s.ENKASH_CARD_ACCOUNT_ID ?? SIMULATOR_DEFAULTS.cardAccountId,
    encryption: s.ENKASH_ENCRYPTION === 'on',
    timeoutMs: s.ENKASH_TIMEOUT_MS,
    loadType: s.ENKASH_LOAD_TYPE,
    transactionCode: s.ENKASH_TRANSACTION_CODE,
  };
  const sync: SyncConfig = {
    concurrency: s.SYNC_CONCURRENCY,
    maxAttempts: s.SYNC_MAX_ATTEMPTS,
    maxAgeMs: s.SYNC_MAX_AGE_MS,
    backoffBaseMs: s.SYNC_BACKOFF_BASE_MS,
    backoffCapMs: s.SYNC_BACKOFF_CAP_MS,
    leaseMs: s.SYNC_LEASE_MS,
    pollMs: s.SYNC_POLL_MS,
    circuitFailureThreshold: s.SYNC_CIRCUIT_THRESHOLD,
    circuitOpenMs: s.SYNC_CIRCUIT_OPEN_MS,
    lookupGraceMs: s.SYNC_LOOKUP_GRACE_MS,
    rejectionConfirmMs: s.SYNC_REJECTION_CONFIRM_MS,
    exchangeDeadlineMs: 2 * enkash.timeoutMs,
  };
  const dataDir = s.DATA_DIR;
  const adminApiKey = s.ADMIN_API_KEY ?? null;
  const databaseUrl = s.DATABASE_URL ?? null;
  const audit: AuditConfig = {
    finalWaitMs: s.LEDGER_FINAL_WAIT_MS,
    sealKey:
      s.AUDIT_SEAL_KEY !== undefined
        ? { source: 'AUDIT_SEAL_KEY', material: s.AUDIT_SEAL_KEY }
        : { source: 'DATA_DIR', file: join(dataDir, 'audit-seal.key') },
    checkpointFile: s.AUDIT_CHECKPOINT_FILE ?? join(dataDir, 'audit-checkpoints.jsonl'),
    checkpointIntervalMs: s.AUDIT_CHECKPOINT_INTERVAL_MS,
    verifyIntervalMs: s.AUDIT_VERIFY_INTERVAL_MS,
    maxUnsealedAgeMs: s.AUDIT_MAX_UNSEALED_AGE_MS,
  };
  const webhooks: WebhookConfig = {
    timeoutMs: s.WEBHOOK_TIMEOUT_MS,
    concurrency: s.WEBHOOK_CONCURRENCY,
    pollMs: s.WEBHOOK_POLL_MS,
    backoffBaseMs: s.WEBHOOK_BACKOFF_BASE_MS,
    backoffCapMs: s.WEBHOOK_BACKOFF_CAP_MS,
    maxAgeMs: s.WEBHOOK_MAX_AGE_MS,
    // A lease must outlive one attempt, or another instance could send the same event meanwhile.
    leaseMs: Math.max(s.WEBHOOK_LEASE_MS, s.WEBHOOK_TIMEOUT_MS + 5000),
    secretKey:
      s.WEBHOOK_SECRET_KEY !== undefined
        ? { source: 'WEBHOOK_SECRET_KEY', material: s.WEBHOOK_SECRET_KEY }
        : adminApiKey !== null
          ? { source: 'ADMIN_API_KEY', material: adminApiKey }
          : databaseUrl === null
            ? { source: 'DATA_DIR', file: join(dataDir, 'webhook-secret.key') }
            : null,
    allowPrivateUrls: s.WEBHOOK_ALLOW_PRIVATE_URLS,
  };
  return {
    port: s.PORT,
    host: s.HOST,
    databaseUrl,
    dataDir,
    role: s.ROLE as Role,
    adminApiKey,
    maxLoadAmountMinor: s.MAX_LOAD_AMOUNT,
    maxJournalAmountMinor: s.MAX_JOURNAL_AMOUNT,
    logLevel: s.LOG_LEVEL as LogLevelName,
    rateLimitPerMinute: s.RATE_LIMIT_PER_MINUTE,
    enkash,
    sync,
    // A real EnKash remembers what the other copy sent; the in-process simulator starts empty with every process.
    forkPolicy: (s.DATABASE_FORK_POLICY ?? (useSimulator ? 'proceed' : 'hold')) as ForkPolicy,
    audit,
    webhooks,
    console: { sessionIdleMs: s.CONSOLE_SESSION_IDLE_MS, sessionMaxMs: s.CONSOLE_SESSION_MAX_MS, secureCookie: s.CONSOLE_SECURE_COOKIE },
    reconciliation: { intervalMs: s.RECONCILE_INTERVAL_MS },
    readReplica: { url: s.DATABASE_READ_URL ?? null, maxLagMs: s.DATABASE_READ_MAX_LAG_MS },
  };
}

/** Reads and checks every setting at once; a ConfigError lists every problem. main.ts passes process.env, tests a record. */
export function loadConfig(env: Env): AppConfig {
  const parsed = envSchema.superRefine((s, ctx) => crossChecks(s, ctx, env), { when: () => true }).safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => i.message));
  return toConfig(parsed.data);
}

/** Nest injection token for the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');
