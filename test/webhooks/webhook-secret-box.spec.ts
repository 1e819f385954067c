import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiError } from '../../src/common/errors';
import { ConfigError, loadConfig } from '../../src/config/app-config';
import { WebhookSecretBox, WebhookSecretUnavailableError } from '../../src/webhooks/webhook-secret-box';

/** The webhook slice of the boot configuration, from WEBHOOK_* (`env`) and the core settings (`appEnv`). */
const loadWebhookConfig = (env: Record<string, string>, appEnv: Record<string, string>) =>
  loadConfig({ PORT: '0', ...appEnv, ...env }).webhooks;
const box = (env: Record<string, string>, appEnv: Record<string, string> = {}) => new WebhookSecretBox(loadWebhookConfig(env, appEnv));
const ID = '8d0c6c1e-1986-41aa-a43d-6a5628d26a78';

describe(WebhookSecretBox.name, () => {
  it('should read WEBHOOK_* with defaults and report every bad value at once', () => {
    const c = loadWebhookConfig({}, { ADMIN_API_KEY: 'admin-key-0123456789' });
    expect(c).toMatchObject({ timeoutMs: 5000, maxAgeMs: 24 * 3600_000, concurrency: 8, secretKey: { source: 'ADMIN_API_KEY' } });
    expect(c.leaseMs).toBeGreaterThanOrEqual(c.timeoutMs + 5000);
    let problems: string[] = [];
    try {
      loadWebhookConfig({ WEBHOOK_TIMEOUT_MS: 'soon', WEBHOOK_CONCURRENCY: '0', WEBHOOK_SECRET_KEY: 'short' }, {});
    } catch (e) {
      if (e instanceof ConfigError) problems = e.problems;
    }
    expect(problems.join('\n')).toMatch(/WEBHOOK_TIMEOUT_MS[\s\S]*WEBHOOK_CONCURRENCY[\s\S]*WEBHOOK_SECRET_KEY/);
  });

  it('should open what it sealed, only for the same subscription and under the same key', () => {
    const env = { WEBHOOK_SECRET_KEY: 'k'.repeat(40) };
    const sealed = box(env).seal(ID, 'whsec_abc');
    expect(box(env).open(ID, sealed.ciphertext, sealed.keyId)).toBe('whsec_abc');
    expect(() => box(env).open('00000000-0000-4000-8000-000000000000', sealed.ciphertext, sealed.keyId)).toThrow(
      WebhookSecretUnavailableError,
    );
    const other = box({ WEBHOOK_SECRET_KEY: 'z'.repeat(40) });
    expect(() => other.open(ID, sealed.ciphertext, sealed.keyId)).toThrow(/another key/);
    // WEBHOOK_SECRET_KEY wins over ADMIN_API_KEY.
    expect(box(env, { ADMIN_API_KEY: 'admin-key-0123456789' }).seal(ID, 'x').keyId).toBe(sealed.keyId);
  });

  it('should keep a generated key file in DATA_DIR with the embedded database, and refuse to store secrets with no key at all', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wh-key-'));
    try {
      const first = box({}, { DATA_DIR: dir });
      const sealed = first.seal(ID, 'whsec_abc');
      const file = path.join(dir, 'webhook-secret.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(box({}, { DATA_DIR: dir }).open(ID, sealed.ciphertext, sealed.keyId)).toBe('whsec_abc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const none = box({}, { DATABASE_URL: 'postgres://db/x' });
    expect(() => none.seal(ID, 'x')).toThrow(ApiError);
    expect(() => none.open(ID, Buffer.alloc(40), 'k')).toThrow(WebhookSecretUnavailableError);
  });
});
