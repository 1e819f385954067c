import { PassThrough } from 'node:stream';
import { encodeCursor } from '../../src/common/paging';
import { SIMULATOR_DEFAULTS } from '../../src/config/app-config';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { createRootLogger } from '../../src/logging/logging';
import { ADMIN_KEY, startTestApp, TestApp } from '../support/app';
import { enkashEnv, FAST_SYNC_ENV, startSim, waitForStatus } from '../sync/sync-harness';

type Line = Record<string, unknown> & { level: string; msg: string; requestId?: string };

function capture(): { stream: PassThrough; text: () => string; lines: () => Line[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return {
    stream,
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line),
  };
}

describe('structured logs', () => {
  const CARD = 'EKCLOGS001';
  let sim: RunningSimulator;
  let t: TestApp;
  const log = capture();

  beforeAll(async () => {
    sim = await startSim();
    // The most verbose level, so that every line the cycle can produce is checked.
    t = await startTestApp({ ...FAST_SYNC_ENV, ...enkashEnv(sim) }, undefined, { logger: ['verbose'], logStream: log.stream });
  });
  afterAll(async () => {
    await t.close();
    await sim.close();
  });

  it('should log a full load cycle as JSON lines with request ids, and no secret or full card id', async () => {
    const billing = (await t.api('POST', '/v1/api-keys', { body: { name: 'billing', scopes: ['loads:write', 'ledger:read'] } })).body
      .key as string;
    const created = await t.api('POST', '/v1/card-loads', {
      key: billing,
      body: { enKashCardId: CARD, amount: '42.00', description: `top-up for ${CARD}` },
      headers: { 'idempotency-key': 'log-cycle-1', 'x-request-id': 'trace-me-1', cookie: 'session=s3cr3t-cookie-value' },
    });
    expect(created.status).toBe(201);
    await waitForStatus(t, created.body.id, ['posted']);
    expect((await t.api('GET', `/v1/cards/${CARD}/balance`, { key: billing })).status).toBe(200);
    expect((await t.api('GET', `/v1/card-loads?enKashCardId=${CARD}`, { key: billing })).status).toBe(200);
    expect((await t.api('GET', '/v1/card-loads', { key: 'ckl_wrong_key_0123456789abcdef' })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 100)); // the last "request completed" lines

    const lines = log.lines();
    const text = log.text();
    expect(lines.every((l) => typeof l.level === 'string' && typeof l.time === 'string' && typeof l.msg === 'string')).toBe(true);

    // Request ids: on every line of a request, and the caller's x-request-id honoured.
    const requestLines = lines.filter((l) => l.req !== undefined || l.context === 'http');
    expect(requestLines.length).toBeGreaterThanOrEqual(5);
    expect(requestLines.filter((l) => typeof l.requestId !== 'string')).toEqual([]);
    expect(lines.find((l) => l.requestId === 'trace-me-1')).toMatchObject({ res: { statusCode: 201 }, req: { method: 'POST' } });
    // The worker's EnKash calls are logged too (at debug), with the card masked.
    expect(lines.some((l) => l.context === 'EnKashClient' && l.msg.includes('EKC****001'))).toBe(true);

    // Nothing secret, whatever field or string it could hide in.
    const issued = sim.state.issuedTokens();
    expect(issued.length).toBeGreaterThan(0);
    const basic = Buffer.from(`${SIMULATOR_DEFAULTS.clientId}:${SIMULATOR_DEFAULTS.clientSecret}`).toString('base64');
    const secrets = [
      SIMULATOR_DEFAULTS.clientSecret,
      SIMULATOR_DEFAULTS.password,
      ADMIN_KEY,
      billing,
      basic,
      's3cr3t-cookie-value',
      ...issued,
    ];
    expect(secrets.filter((s) => text.includes(s))).toEqual([]);
    expect(text).toContain('"authorization":"[redacted]"');
    expect(text).toContain('"cookie":"[redacted]"');

    // Card ids only masked: in URLs, query strings and messages alike.
    expect(text).not.toMatch(/EKC[A-Z0-9]{7}/);
    expect(text).toContain(`/v1/cards/EKC****001/balance`);
  });

  it('should mask a card id however it is encoded, and redact keys sent in the wrong header, query or cookie', async () => {
    const card = 'EKCLOGS002';
    const before = log.text().length;
    const secrets = [
      'xapikey-secret-0001',
      'cookie-secret-0002',
      ...[3, 4, 5, 6, 7, 8, 9, 10].map((i) => `query-secret-${String(i).padStart(4, '0')}`),
    ];
    const paths = [
      `/v1/cards/card%3A${card}/balance`,
      `/v1/accounts/card%3A${card}`,
      `/v1/accounts/card%253A${card}`,
      `/v1/cards/${card.toLowerCase()}/balance`,
      `/v1/cards/%45${card.slice(1)}/history`,
      `/v1/cards/%2545%254B${card.slice(2)}/balance`,
      `/v1/card-loads?enKashCardId=${card.toLowerCase()}`,
      `/v1/cards/EK%43${card.slice(3)}/balance`,
      `/v1/card-loads?api_key=${secrets[2]}&apikey=${secrets[3]}&token=${secrets[4]}&access_token=${secrets[5]}` +
        `&key=${secrets[6]}&API_KEY=${secrets[7]}&api%5Fkey=${secrets[8]}&Token=${secrets[9]}`,
    ];
    for (const path of paths) {
      await t.api('GET', path, { headers: { 'x-api-key': secrets[0], cookie: `sid=${secrets[1]}` } });
    }
    await new Promise((r) => setTimeout(r, 100));
    const text = log.text().slice(before);
    expect(text.split('\n').filter((l) => l.includes('"request completed"')).length).toBeGreaterThanOrEqual(paths.length);
    expect(secrets.filter((x) => text.includes(x))).toEqual([]);
    expect(text).toContain('"x-api-key":"[redacted]"');
    expect(text).toContain('api_key=[redacted]');
    // Decoded as often as it was encoded, in any letter case: only the masked form is left.
    let decoded = text;
    for (let i = 0; i < 3; i++) decoded = decoded.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    expect(decoded).not.toMatch(/EKCLOGS002/i);
    expect(decoded).toContain('EKC****002');
  });

  it('should never log an API key, a webhook secret or a cursor naming an account, wherever a caller puts them', async () => {
    const key = (await t.api('POST', '/v1/api-keys', { body: { name: 'leaky', scopes: ['ledger:read'] } })).body.key as string;
    const whsec = `whsec_${'s'.repeat(43)}`;
    const cursor = encodeCursor(['card:EKCLOGS003']);
    const before = log.text().length;
    // A real key in a query parameter of any name, in the path, and in a malformed Authorization header.
    for (const [path, headers] of [
      [`/v1/card-loads?q=${key}`, {}],
      [`/v1/card-loads/${key}`, {}],
      [`/v1/accounts?limit=x&note=${whsec}`, {}],
      [`/v1/accounts?cursor=${cursor}`, {}],
      ['/v1/card-loads', { authorization: key }],
      ['/v1/card-loads', { authorization: `Bearer${key}` }],
      ['/v1/card-loads', { authorization: `Basic ${key}` }],
    ] as Array<[string, Record<string, string>]>) {
      await t.api('GET', path, { key: null, headers });
      await t.api('GET', path, { key, headers });
    }
    await new Promise((r) => setTimeout(r, 100));
    const text = log.text().slice(before);
    expect(text.split('\n').filter((l) => l.includes('"request completed"')).length).toBeGreaterThanOrEqual(14);
    expect([key, key.slice(4), whsec, cursor].filter((x) => text.includes(x))).toEqual([]);
    expect(text).toContain('ckl_[redacted]');
  });

  it('should redact fields named password, secret, token, clientSecret, access_token and key at any depth', () => {
    const out = capture();
    const logger = createRootLogger({ level: 'info', stream: out.stream });
    logger.info(
      { password: 'p1', secret: 'p2', nested: { clientSecret: 'p3', access_token: 'p4', deeper: { token: 'p5', key: 'p6' } } },
      'shapes',
    );
    const text = out.text();
    expect(text).not.toMatch(/p[1-6]/);
    expect(JSON.parse(text).nested.deeper).toEqual({ token: '[redacted]', key: '[redacted]' });
  });

  it('should redact secret fields inside arrays and errors, keep the error, and leave the logged object as it was', () => {
    const out = capture();
    const logger = createRootLogger({ level: 'info', stream: out.stream });
    const err = Object.assign(new Error('EnKash refused'), { request: { headers: { authorization: 'Bearer p7' } } });
    const logged = { attempts: [{ token: 'p8' }, { ok: true }], err };
    logger.warn(logged, 'shapes');
    const line = JSON.parse(out.text());
    expect(JSON.stringify(line)).not.toMatch(/p[78]/);
    expect(line.attempts).toEqual([{ token: '[redacted]' }, { ok: true }]);
    expect(line.err).toMatchObject({ type: 'Error', message: 'EnKash refused', request: { headers: { authorization: '[redacted]' } } });
    expect(line.err.stack).toMatch(/^Error: EnKash refused/);
    expect(logged.attempts[0].token).toBe('p8');
    expect(err.request.headers.authorization).toBe('Bearer p7');
  });

  it('should scrub configured secret values from any string', () => {
    const out = capture();
    const logger = createRootLogger({ level: 'info', stream: out.stream, secrets: ['hunter2-very-secret'] });
    logger.warn(`EnKash said: bad credentials hunter2-very-secret for EKCMB7KAEW`);
    expect(JSON.parse(out.text()).msg).toBe('EnKash said: bad credentials [redacted] for EKC****AEW');
  });
});
