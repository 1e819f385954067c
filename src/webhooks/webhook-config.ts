import { join } from 'node:path';
import { AppConfig, ConfigError } from '../config/app-config';
import { Env, intSetting } from '../config/env-settings';

/**
 * Webhook settings (WEBHOOK_*), read once when the module starts, every problem reported at once.
 * They live beside AppConfig rather than in it so that this feature owns its own knobs.
 */
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
export type SecretKeySource =
  | { source: 'WEBHOOK_SECRET_KEY' | 'ADMIN_API_KEY'; material: string }
  | { source: 'DATA_DIR'; file: string };

export const WEBHOOK_CONFIG = Symbol('WEBHOOK_CONFIG');

export function loadWebhookConfig(env: Env, app: AppConfig): WebhookConfig {
  const problems: string[] = [];
  const int = intSetting(env, problems);
  const day = 24 * 3600_000;
  const timeoutMs = int('WEBHOOK_TIMEOUT_MS', 5000, 100, 60_000);
  const config: WebhookConfig = {
    timeoutMs,
    concurrency: int('WEBHOOK_CONCURRENCY', 8, 1, 256),
    pollMs: int('WEBHOOK_POLL_MS', 250, 10, 60_000),
    backoffBaseMs: int('WEBHOOK_BACKOFF_BASE_MS', 1000, 1, 3600_000),
    backoffCapMs: int('WEBHOOK_BACKOFF_CAP_MS', 3600_000, 1, day),
    maxAgeMs: int('WEBHOOK_MAX_AGE_MS', day, 1000, 30 * day),
    // A lease must outlive one attempt, or another instance could send the same event meanwhile.
    leaseMs: Math.max(int('WEBHOOK_LEASE_MS', 30_000, 1000, 3600_000), timeoutMs + 5000),
    secretKey: null,
    allowPrivateUrls: false,
  };
  const allowRaw = env.WEBHOOK_ALLOW_PRIVATE_URLS?.trim().toLowerCase();
  if (allowRaw === 'true') config.allowPrivateUrls = true;
  else if (allowRaw !== undefined && allowRaw !== '' && allowRaw !== 'false') {
    problems.push(`WEBHOOK_ALLOW_PRIVATE_URLS must be true or false (got "${env.WEBHOOK_ALLOW_PRIVATE_URLS}")`);
  }
  const key = env.WEBHOOK_SECRET_KEY?.trim();
  if (key) {
    if (key.length < 32) problems.push('WEBHOOK_SECRET_KEY must be at least 32 characters (e.g. openssl rand -base64 32)');
    config.secretKey = { source: 'WEBHOOK_SECRET_KEY', material: key };
  } else if (app.adminApiKey !== null) {
    config.secretKey = { source: 'ADMIN_API_KEY', material: app.adminApiKey };
  } else if (app.databaseUrl === null) {
    config.secretKey = { source: 'DATA_DIR', file: join(app.dataDir, 'webhook-secret.key') };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
