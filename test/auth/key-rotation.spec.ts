import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ApiKeysService } from '../../src/auth/api-keys.service';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { ADMIN_KEY, AUDIT_KEY, startTestApp, TestApp } from '../support/app';
import { enkashEnv, FAST_SYNC_ENV, startSim, waitFor } from '../sync/sync-harness';
import { apiKey, loadWith, subscribe, webhookEnv } from '../webhooks/harness';
import { Receiver, startReceiver } from '../webhooks/receiver';

webhookEnv({});

const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');
type Line = { level: string; msg: string; context?: string };

/** Rotating or revoking keys never silences a billing system's webhooks without saying so (docs/operations.md). */
describe('key rotation and revocation', () => {
  let sim: RunningSimulator;
  let rx: Receiver;
  let t: TestApp;
  let logText = '';
  const lines = (): Line[] =>
    logText
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);

  beforeAll(async () => {
    sim = await startSim();
    rx = await startReceiver();
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => (logText += c.toString()));
    t = await startTestApp({ ...FAST_SYNC_ENV, ...enkashEnv(sim) }, undefined, { logger: ['log'], logStream: stream });
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
    await sim.close();
  });

  const postedEvents = (p: string, loadId: string) =>
    rx.accepted(p).filter((r) => JSON.parse(r.body).type === 'card_load.posted' && JSON.parse(r.body).data.id === loadId);

  it("should keep the bootstrap key's subscriptions delivering after ADMIN_API_KEY is rotated, and say so", async () => {
    const sub = await subscribe(t, ADMIN_KEY, `${rx.url}/admin-hooks`);
    const billing = await apiKey(t, ['loads:write']);
    const before = await loadWith(t, billing, 'EKCROT0001', '1.00');
    await waitFor('the event before the rotation', async () => postedEvents('/admin-hooks', before.id).length === 1);

    // What a restart with a new ADMIN_API_KEY does at start (runtime.ts).
    const NEW_KEY = 'rotated-admin-key-0123456789abcdef';
    await t.app.get(ApiKeysService).installBootstrapKey(NEW_KEY);
    try {
      expect((await t.api('GET', '/v1/api-keys')).status).toBe(401); // the old key is revoked
      expect((await t.api('GET', `/v1/webhooks/${sub.id}`, { key: NEW_KEY })).status).toBe(200);

      const after = await loadWith(t, billing, 'EKCROT0001', '2.00');
      await waitFor('the event after the rotation', async () => postedEvents('/admin-hooks', after.id).length === 1, 10_000);
      const said = lines().find((l) => l.msg.startsWith('bootstrap admin key rotated'));
      expect(said).toMatchObject({ level: 'warn' });
      expect(said!.msg).toContain(`1 webhook subscription(s) moved to the new key and keep delivering (${sub.id}`);
      const [rotated] = (await t.api('GET', '/v1/audit/events?action=api_key.rotated', { key: NEW_KEY })).body.data;
      expect(rotated).toMatchObject({ actor: 'service', details: { movedWebhookSubscriptions: [sub.id], generated: false } });
      expect(rotated.details.previousKeyIds).toHaveLength(1);
    } finally {
      await t.app.get(ApiKeysService).installBootstrapKey(ADMIN_KEY); // back, for the other tests
    }
  });

  it('should name the subscriptions a revocation silences in the answer, the log and the audit trail', async () => {
    const billing = (await t.api('POST', '/v1/api-keys', { body: { name: 'billing-old', scopes: ['loads:write'] } })).body;
    const sub = await subscribe(t, billing.key, `${rx.url}/billing-hooks`);
    const revoked = await t.api('DELETE', `/v1/api-keys/${billing.id}`, { headers: { 'x-request-id': 'revoke-1' } });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect(revoked.body.silencedWebhookSubscriptions).toEqual([{ id: sub.id, url: `${rx.url}/billing-hooks` }]);
    expect(revoked.body.warnings[0]).toContain(sub.id);
    const said = lines().find((l) => l.msg.includes(`API key ${billing.id} "billing-old" revoked`));
    expect(said).toMatchObject({ level: 'warn' });
    expect(said!.msg).toContain(sub.id);
    const [event] = (await t.api('GET', `/v1/audit/events?action=api_key.revoked&subject=${billing.id}`)).body.data;
    expect(event).toMatchObject({ requestId: 'revoke-1', details: { name: 'billing-old', silencedWebhookSubscriptions: [sub.id] } });
    // A key without subscriptions: no warning.
    const plain = (await t.api('POST', '/v1/api-keys', { body: { name: 'reader', scopes: ['ledger:read'] } })).body;
    expect((await t.api('DELETE', `/v1/api-keys/${plain.id}`)).body).toMatchObject({ silencedWebhookSubscriptions: [], warnings: [] });
  });

  it('should print the same warning when the CLI revokes a key with subscriptions', async () => {
    const billing = (await t.api('POST', '/v1/api-keys', { body: { name: 'billing-cli', scopes: ['loads:write'] } })).body;
    const sub = await subscribe(t, billing.key, `${rx.url}/cli-hooks`);
    const proc = spawn(process.execPath, [CLI, 'keys', 'revoke', billing.id], {
      env: { ...process.env, DATABASE_URL: t.databaseUrl, AUDIT_SEAL_KEY: AUDIT_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((r) => proc.once('exit', r));
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`warning: 1 webhook subscription\\(s\\) of this key hear no more events: ${sub.id}`));
    const [event] = (await t.api('GET', `/v1/audit/events?action=api_key.revoked&subject=${billing.id}`)).body.data;
    expect(event.actor).toMatch(/^cli \(/);
  });
});
