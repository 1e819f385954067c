import { AppConfig, loadConfig } from '../../src/config/app-config';

/**
 * Settings every app of the current test file starts with, below the ones a test passes (set once at the top of a
 * file, e.g. webhookEnv). Jest gives each file its own module registry, so this never leaks into another file.
 */
const fileSettings: Record<string, string> = {};

export function fileTestSettings(env: Record<string, string>): void {
  Object.assign(fileSettings, env);
}

/**
 * The configuration a test app runs with: the real parser (config/app-config.ts) over the file's settings and the
 * given overrides, in the environment's names. Tests build configs this way and never touch process.env.
 */
export function testConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({ PORT: '0', ...fileSettings, ...env });
}
