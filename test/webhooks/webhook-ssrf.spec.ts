import type { LookupAddress, lookup } from 'node:dns';
import { Client } from 'pg';
import { ConfigError, loadConfig } from '../../src/config/app-config';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { checkWebhookUrl, guardedLookup } from '../../src/webhooks/webhook-target-guard';
import { sql } from '../support/db';
import { TestApp } from '../support/app';
import { startSim, startSyncApp, waitFor } from '../sync/sync-harness';
import { apiKey, deliveryLog, loadWith, subscribe, webhookEnv } from './harness';
import { Receiver, startReceiver } from './receiver';

webhookEnv({ WEBHOOK_TIMEOUT_MS: '2000' });

describe('webhook targets must be public unless WEBHOOK_ALLOW_PRIVATE_URLS=true (SSRF)', () => {
  let sim: RunningSimulator;
  let rx: Receiver;
  let allowed: TestApp; // WEBHOOK_ALLOW_PRIVATE_URLS=true, ROLE=api: subscribes, never delivers
  let guarded: TestApp; // the default setting, same database: delivers
  let c: Client;
  beforeAll(async () => {
    [sim, rx] = await Promise.all([startSim(), startReceiver()]);
    allowed = await startSyncApp(sim, { ROLE: 'api' });
    guarded = await startSyncApp(sim, { WEBHOOK_ALLOW_PRIVATE_URLS: 'false' }, allowed.databaseUrl);
    c = await sql(allowed.databaseUrl);
  });
  afterAll(async () => {
    await c.end();
    await guarded.close();
    await allowed.close();
    await Promise.all([rx.close(), sim.close()]);
  });

  const count = async () => (await c.query(`SELECT count(*)::int AS n FROM webhook_subscriptions`)).rows[0].n as number;

  it.each([
    'http://127.0.0.1:9/x',
    'http://localhost/x',
    'http://10.1.2.3/x',
    'http://169.254.169.254/latest',
    'http://[::1]/x',
    'http://[::ffff:127.0.0.1]/x',
    'http://100.64.0.1/x',
    'http://0.0.0.0/x',
    'http://[fd00::1]/x',
    'http://2130706433/x',
    // IPv6 forms a NAT64, 6to4 or translation gateway turns back into a private IPv4 address.
    'http://[64:ff9b::a9fe:a9fe]/latest',
    'http://[64:ff9b::10.0.0.1]/x',
    'http://[2002:a00:1::1]/x',
    'http://[::ffff:0:a00:1]/x',
    'http://[64:ff9b:1::1]/x',
    'http://198.18.0.1/x',
    'http://[fec0::1]/x',
  ])('should refuse %s with 400 naming url and WEBHOOK_ALLOW_PRIVATE_URLS, writing nothing', async (url) => {
    const before = await count();
    const res = await guarded.api('POST', '/v1/webhooks', { body: { url, events: ['card_load.posted'] } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details).toEqual([
      { field: 'url', message: expect.stringMatching(/public address.*WEBHOOK_ALLOW_PRIVATE_URLS=true/) },
    ]);
    expect(await count()).toBe(before);
  });

  it('should accept a public IP literal without calling it', async () => {
    const k = await apiKey(guarded, ['loads:write']); // creates no loads: nothing is ever sent there
    const res = await guarded.api('POST', '/v1/webhooks', {
      key: k,
      body: { url: 'https://93.184.215.14/hook', events: ['card_load.posted'] },
    });
    expect(res.status).toBe(201);
  });

  it('should judge a name by every address it resolves to, and refuse one that does not resolve', async () => {
    const resolvesTo =
      (...addresses: string[]) =>
      async (): Promise<LookupAddress[]> =>
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    expect(
      await checkWebhookUrl('https://hooks.example/x', 1000, resolvesTo('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c')),
    ).toBeNull();
    // public inside
    expect(await checkWebhookUrl('https://hooks.example/x', 1000, resolvesTo('64:ff9b::808:808', '2002:5db8:d70e::1'))).toBeNull();
    expect(await checkWebhookUrl('https://hooks.example/x', 1000, resolvesTo('64:ff9b::a9fe:a9fe'))).toMatch(/169\.254\.169\.254 inside/);
    expect(await checkWebhookUrl('https://hooks.example/x', 1000, resolvesTo('93.184.215.14', '10.0.0.5'))).toMatch(
      /^must reach a public address: hooks\.example resolves to 10\.0\.0\.5, a private address .*WEBHOOK_ALLOW_PRIVATE_URLS=true/,
    );
    const nxdomain = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    expect(await checkWebhookUrl('https://nowhere.example/x', 1000, nxdomain)).toBe(
      'must resolve: nowhere.example does not resolve (ENOTFOUND)',
    );
    expect(await checkWebhookUrl('https://slow.example/x', 50, () => new Promise(() => undefined))).toMatch(
      /does not resolve \(no answer within 50 ms\)/,
    );
  });

  it('should refuse, in the socket lookup, an address DNS gives at connection time', async () => {
    const dns = (address?: string) =>
      ((_h: string, _o: unknown, cb: (e: null, a: LookupAddress[]) => void) =>
        cb(null, address ? [{ address, family: 4 }] : [])) as unknown as typeof lookup;
    const connect = (address: string, all: boolean) =>
      new Promise<unknown[]>((resolve) => guardedLookup(dns(address))('hooks.example', { all }, (...args) => resolve(args)));
    const [err] = await connect('10.0.0.5', false);
    expect((err as Error).message).toBe('hooks.example resolves to 10.0.0.5, a private address');
    expect(await connect('93.184.215.14', false)).toEqual([null, '93.184.215.14', 4]);
    expect(await connect('93.184.215.14', true)).toEqual([null, [{ address: '93.184.215.14', family: 4 }]]);
    // An empty answer is an error, never an empty list: net would read addresses[0] and throw outside any handler.
    const connectNowhere = (all: boolean) =>
      new Promise<unknown[]>((resolve) => guardedLookup(dns())('hooks.example', { all }, (...args) => resolve(args)));
    for (const all of [true, false]) expect(((await connectNowhere(all))[0] as { code: string }).code).toBe('ENOTFOUND');
  });

  it('should refuse, at delivery, a receiver subscribed while private targets were allowed, retrying and sending nothing', async () => {
    const k = await apiKey(allowed, ['loads:write']);
    const sub = await subscribe(allowed, k, `${rx.url}/private`, ['card_load.posted']);
    await loadWith(guarded, k, 'EKCSSRF001', '2.00');
    const [delivery] = await waitFor('two refused attempts', async () => {
      const log = await deliveryLog(guarded, k, sub.id);
      return (log[0]?.attempts.length ?? 0) >= 2 && log;
    });
    expect(delivery.status).toBe('pending'); // retried like any failure, within WEBHOOK_MAX_AGE_MS
    for (const a of delivery.attempts) {
      expect(a).toMatchObject({
        status: 'not_sent',
        httpStatus: null,
        error: 'refused: 127.0.0.1 is a loopback address (WEBHOOK_ALLOW_PRIVATE_URLS)',
      });
    }
    expect(rx.received).toEqual([]);
    expect((await guarded.api('DELETE', `/v1/webhooks/${sub.id}`, { key: k })).status).toBe(200);
  });

  it('should report a bad WEBHOOK_ALLOW_PRIVATE_URLS at boot with the other problems', () => {
    let problems: string[] = [];
    try {
      loadConfig({ WEBHOOK_ALLOW_PRIVATE_URLS: 'yes', WEBHOOK_TIMEOUT_MS: 'soon' });
    } catch (e) {
      if (e instanceof ConfigError) problems = e.problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        'WEBHOOK_ALLOW_PRIVATE_URLS must be true or false (got "yes")',
        expect.stringMatching(/^WEBHOOK_TIMEOUT_MS/),
      ]),
    );
  });
});
