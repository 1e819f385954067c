import { reconcileIntervalMs } from '../reconciliation/reconciliation.scheduler';
import { loadWebhookConfig } from '../webhooks/webhook-config';
import { AppConfig, ConfigError, loadConfig } from './app-config';

type Env = Record<string, string | undefined>;

/**
 * Everything the process reads from the environment, checked before anything starts: the core settings and
 * those that features own (webhooks, reconciliation). All problems come out in one ConfigError, so a bad
 * deployment is fixed in one round rather than one variable per restart.
 */
export function loadBootConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const collect = <T>(read: () => T): T | null => {
    try {
      return read();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push(...e.problems);
      return null;
    }
  };
  const config = collect(() => loadConfig(env));
  collect(() => reconcileIntervalMs(env));
  // Webhook settings are checked even when the core ones failed; they only need these three for their defaults.
  const core = config ?? ({ adminApiKey: env.ADMIN_API_KEY ?? null, databaseUrl: env.DATABASE_URL ?? null, dataDir: env.DATA_DIR ?? './.data' } as AppConfig);
  collect(() => loadWebhookConfig(env, core));
  if (problems.length > 0 || config === null) throw new ConfigError(problems);
  return config;
}
