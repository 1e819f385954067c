import { ConfigError } from '../config/app-config';
import { Env, intSetting } from '../config/env-settings';

/**
 * Console settings (CONSOLE_*), read once when the module starts, every problem reported at once; beside
 * AppConfig rather than in it so that this feature owns its own knobs (as webhooks do).
 */
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

export const CONSOLE_CONFIG = Symbol('CONSOLE_CONFIG');

export function loadConsoleConfig(env: Env): ConsoleConfig {
  const problems: string[] = [];
  const int = intSetting(env, problems);
  const hour = 3600_000;
  const sessionIdleMs = int('CONSOLE_SESSION_IDLE_MS', hour / 2, 1000, 24 * hour);
  const sessionMaxMs = int('CONSOLE_SESSION_MAX_MS', 8 * hour, 1000, 7 * 24 * hour);
  if (sessionIdleMs > sessionMaxMs)
    problems.push(`CONSOLE_SESSION_IDLE_MS (${sessionIdleMs}) must not exceed CONSOLE_SESSION_MAX_MS (${sessionMaxMs})`);
  const secureRaw = env.CONSOLE_SECURE_COOKIE?.trim().toLowerCase();
  if (secureRaw !== undefined && secureRaw !== '' && secureRaw !== 'true' && secureRaw !== 'false') {
    problems.push(`CONSOLE_SECURE_COOKIE must be true or false (got "${env.CONSOLE_SECURE_COOKIE}")`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { sessionIdleMs, sessionMaxMs, secureCookie: secureRaw === 'true' };
}
