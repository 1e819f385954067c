import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { TestApp, TestAppContext } from '../support/app';
import { fileTestSettings } from '../support/config';
import { useSyncApp } from '../sync/sync-harness';
import { Receiver, startReceiver } from './receiver';

export const EVENTS = ['card_load.posted', 'card_load.reversed', 'card_load.needs_review'];

/**
 * Webhook settings for every app this test file starts (test/support/config.ts). Receivers listen on 127.0.0.1,
 * which the SSRF guard refuses unless private targets are allowed.
 */
export function webhookEnv(env: Record<string, string>): void {
  fileTestSettings({
    WEBHOOK_POLL_MS: '20',
    WEBHOOK_BACKOFF_BASE_MS: '20',
    WEBHOOK_BACKOFF_CAP_MS: '200',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    ...env,
  });
}

/** useSyncApp (simulator, app, Client) plus a receiver over real HTTP, started after the app and closed last. */
export function useWebhookApp(
  env: Record<string, string> = {},
): TestAppContext & { readonly sim: RunningSimulator; readonly rx: Receiver } {
  const ctx = useSyncApp(env);
  let rx: Receiver | undefined;
  beforeAll(async () => {
    rx = await startReceiver();
  });
  afterAll(async () => {
    await rx?.close();
    rx = undefined;
  });
  return {
    get sim() {
      return ctx.sim;
    },
    get app() {
      return ctx.app;
    },
    get db() {
      return ctx.db;
    },
    get rx(): Receiver {
      if (!rx) throw new Error('useWebhookApp: no receiver here; read `.rx` inside a test or a hook declared after useWebhookApp()');
      return rx;
    },
  };
}

export async function apiKey(t: TestApp, scopes: string[]): Promise<string> {
  const res = await t.api('POST', '/v1/api-keys', { body: { name: `wh-${scopes.join('+')}`, scopes } });
  return res.body.key;
}

export async function subscribe(
  t: TestApp,
  key: string | undefined,
  url: string,
  events = EVENTS,
): Promise<{ id: string; secret: string }> {
  const res = await t.api('POST', '/v1/webhooks', { key, body: { url, events } });
  if (res.status !== 201) throw new Error(`subscribe failed: ${res.status} ${res.text}`);
  return res.body;
}

let n = 0;
export async function loadWith(t: TestApp, key: string, card: string, amount: string): Promise<{ id: string; reference: string }> {
  const res = await t.api('POST', '/v1/card-loads', {
    key,
    body: { enKashCardId: card, amount },
    headers: { 'idempotency-key': `wh-${process.pid}-${++n}` },
  });
  if (res.status !== 201) throw new Error(`intake failed: ${res.status} ${res.text}`);
  return res.body;
}

export interface DeliveryLog {
  id: string;
  type: string;
  loadId: string;
  status: string;
  lastHttpStatus: number | null;
  lastError: string | null;
  attempts: Array<{ status: string; httpStatus: number | null; durationMs: number; error: string | null }>;
}

export async function deliveryLog(t: TestApp, key: string | undefined, subscriptionId: string): Promise<DeliveryLog[]> {
  const res = await t.api('GET', `/v1/webhooks/${subscriptionId}/deliveries?limit=500`, { key });
  if (res.status !== 200) throw new Error(`delivery log: ${res.status} ${res.text}`);
  return res.body.data;
}
