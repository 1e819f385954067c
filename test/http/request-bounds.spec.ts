import { once } from 'node:events';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { BODY_SHAPE_LIMITS } from '../../src/http/json-body';
import { LINGER } from '../../src/http/protocol-errors';
import { useTestApp } from '../support/app';
import { rawRequest } from '../../bench/raw-http';

const LOAD = { enKashCardId: 'EKCMB7KAEW', amount: '10.00' };
const keys = (n: number, value = 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));
/** The API's error shape, with `details` when given. */
const errorShape = (code: string, details?: unknown) => ({ error: { code, message: expect.any(String), ...(details ? { details } : {}) } });

describe('work per request is bounded before validation', () => {
  const ctx = useTestApp();
  let n = 0;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    ctx.app.api('POST', path, { body, headers: { 'idempotency-key': `bounds-${++n}`, ...headers } });
  const written = async () => (await ctx.db.query(`SELECT count(*)::int AS n FROM card_loads`)).rows[0].n as number;

  it('should refuse a 1 MB body whose metadata has 80,000 keys at once, three in parallel, while health stays fast', async () => {
    const body = { ...LOAD, metadata: keys(80_000, 'v'.repeat(1)) };
    const text = JSON.stringify(body);
    expect(text.length).toBeGreaterThan(900_000);
    let slowestMs = 0;
    let done = false;
    const probe = (async () => {
      while (!done) {
        const t0 = performance.now();
        expect((await ctx.app.api('GET', '/health/live', { key: null })).status).toBe(200);
        slowestMs = Math.max(slowestMs, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const answers = await Promise.all(
      [1, 2, 3].map(() =>
        ctx.app.api('POST', '/v1/card-loads', {
          rawBody: text,
          headers: { 'content-type': 'application/json', 'idempotency-key': `big-${++n}` },
        }),
      ),
    );
    done = true;
    await probe;
    for (const a of answers) {
      expect(a.status).toBe(400);
      expect(a.body).toEqual(errorShape('validation_failed', [{ field: 'metadata', message: expect.stringContaining('80000 keys') }]));
      expect(a.text.length).toBeLessThan(1000);
    }
    // Before the bound: 3.5 s here (bench/stall.ts: `npm run bench:stall`); now parsing is all that is left.
    expect(slowestMs).toBeLessThan(1500);
    expect(await written()).toBe(0);
  });

  it('should answer 50,000 unknown fields with one short error, on every route with a body', async () => {
    const hook = { url: 'https://example.com/h', events: ['card_load.posted'] };
    for (const [path, base] of [
      ['/v1/card-loads', LOAD],
      ['/v1/webhooks', hook],
    ] as const) {
      const res = await post(path, { ...base, ...keys(50_000) });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(errorShape('validation_failed', [{ field: 'body', message: expect.stringContaining('50002 keys') }]));
      expect(res.text.length).toBeLessThan(1000);
    }
  });

  it('should list the first 10 problems and say how many there were', async () => {
    const res = await post('/v1/card-loads', { ...LOAD, ...keys(40) });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toHaveLength(10);
    expect(res.body.error.details[0]).toEqual({ field: 'k0', message: 'is not a known field' });
    expect(res.body.error.message).toMatch(/and 30 more problems \(40 in all\)$/);
  });

  it('should cut a long unknown field name in the error instead of sending it back whole', async () => {
    const res = await post('/v1/card-loads', { ...LOAD, ['x'.repeat(100_000)]: 1 });
    expect(res.status).toBe(400);
    expect(res.text.length).toBeLessThan(1000);
  });

  it.each([
    [
      'an array over 1,000 items',
      { url: 'https://example.com/h', events: Array(1001).fill('card_load.posted') },
      'events',
      /at most 1000 items/,
    ],
    ['nesting over 6 levels', { ...LOAD, x: [[[[[[1]]]]]] }, 'x.0.0.0.0.0', /nests too deep/],
    ['over 50,000 values', { ...LOAD, x: Array.from({ length: 51 }, () => Array(999).fill(0)) }, 'body', /at most 50000 values/],
  ])('should refuse %s before validation', async (_name, body, field, message) => {
    const res = await post((body as { url?: string }).url ? '/v1/webhooks' : '/v1/card-loads', body);
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field, message: expect.stringMatching(message) }]);
    expect(BODY_SHAPE_LIMITS).toMatchObject({ arrayItems: 1000, depth: 6, values: 50_000 });
  });

  it.each([
    ['21 keys', keys(21), /at most 20 keys/],
    ['a key of 41 characters', { ['k'.repeat(41)]: 'v' }, /keys must be 1-40 characters/],
    ['a value of 501 characters', { k: 'v'.repeat(501) }, /at most 500 characters/],
    [
      'over 8 KiB in all',
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key-${String(i).padStart(35, '0')}`, 'v'.repeat(400)])),
      /at most 8192 bytes/,
    ],
  ])('should refuse metadata with %s, naming it', async (_name, metadata, message) => {
    const res = await post('/v1/card-loads', { ...LOAD, metadata });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: 'metadata', message: expect.stringMatching(message) }]);
  });

  it('should accept metadata at every bound at once', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${String(i).padStart(39, '0')}`, 'v'.repeat(360)]));
    const res = await post('/v1/card-loads', { ...LOAD, metadata });
    expect(res.status).toBe(201);
    expect(res.body.metadata).toEqual(metadata);
  });
});

describe('bodies the service cannot read as sent', () => {
  const ctx = useTestApp({ db: false });
  let n = 0;
  const send = (rawBody: string | Buffer, headers: Record<string, string>) =>
    fetch(`${ctx.app.url}/v1/card-loads`, {
      method: 'POST',
      body: rawBody,
      headers: { authorization: 'Bearer test-admin-key-0123456789abcdef', 'idempotency-key': `enc-${++n}`, ...headers },
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  const json = JSON.stringify(LOAD);

  it.each([
    ['Content-Encoding: br on a plain body', json, { 'content-type': 'application/json', 'content-encoding': 'br' }],
    ['a real gzip body', gzipSync(json), { 'content-type': 'application/json', 'content-encoding': 'gzip' }],
    ['charset=utf-16', json, { 'content-type': 'application/json; charset=utf-16' }],
    ['charset=latin1', json, { 'content-type': 'application/json; charset=latin1' }],
    ['application/json;;;', json, { 'content-type': 'application/json;;;' }],
    ['another parameter', json, { 'content-type': 'application/json; version=2' }],
    ['no content type', json, {}],
  ])('should answer %s with 415 unsupported_media_type', async (_name, body, headers) => {
    const res = await send(body, headers);
    expect(res).toEqual({ status: 415, body: errorShape('unsupported_media_type') });
  });

  it.each([['application/json; charset=UTF-8'], ['application/json; charset="utf-8"'], ['Application/JSON']])(
    'should accept %s',
    async (type) => {
      expect((await send(json, { 'content-type': type, 'content-encoding': 'identity' })).status).toBe(201);
    },
  );
});

describe('requests Node or the router refuse', () => {
  const ctx = useTestApp({ db: false });
  const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
  const auth = 'Authorization: Bearer test-admin-key-0123456789abcdef';

  it('should answer a truncated body with a 400 in the same shape as other body errors', async () => {
    const res = await rawRequest(
      ctx.app.url,
      head([
        'POST /v1/card-loads HTTP/1.1',
        'Host: x',
        auth,
        'Content-Type: application/json',
        'Content-Length: 100',
        'Idempotency-Key: trunc-1',
      ]) + '{"enKashCardId":"EKCMB7',
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual(errorShape('validation_failed', [{ field: 'body', message: expect.any(String) }]));
    const malformed = await ctx.app.api('POST', '/v1/card-loads', {
      rawBody: '{"enKashCardId":"EKCMB7',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'trunc-2' },
    });
    expect(malformed.body).toEqual(errorShape('validation_failed', [{ field: 'body', message: expect.any(String) }]));
  });

  it('should answer a broken chunked body, a malformed request line and oversized headers in the error shape', async () => {
    const chunked = await rawRequest(
      ctx.app.url,
      head(['POST /v1/card-loads HTTP/1.1', 'Host: x', auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked']) +
        'zz\r\n{"a"\r\n0\r\n\r\n',
    );
    expect([chunked.status, JSON.parse(chunked.body)]).toEqual([
      400,
      errorShape('validation_failed', [{ field: 'body', message: expect.any(String) }]),
    ]);
    const line = await rawRequest(ctx.app.url, head(['GET /\x01 HTTP/1.1', 'Host: x']));
    expect([line.status, JSON.parse(line.body)]).toEqual([
      400,
      errorShape('validation_failed', [{ field: 'request', message: expect.any(String) }]),
    ]);
    const big = await rawRequest(ctx.app.url, head(['GET /health/live HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`]));
    expect([big.status, JSON.parse(big.body)]).toEqual([431, errorShape('request_header_fields_too_large')]);
  });

  it.each([
    [
      '431 for its headers',
      [`X-Big: ${'a'.repeat(20_000)}`, 'Content-Type: application/json'],
      1_000_000,
      '431 Request Header Fields Too Large',
    ],
    ['415 for its Content-Type', ['Content-Type: text/plain'], 1_000_000, '415 Unsupported Media Type'],
    ['413 for its declared length', ['Content-Type: application/json'], 3_000_000, '413 Payload Too Large'],
  ])('should let a client still sending its body read the %s', async (_name, lines, length, status) => {
    // A client (fetch among them) that is busy writing its body reads the answer only afterwards. Refused before
    // the body, the rest of it is read and dropped (bounded) before the socket closes: an abrupt close resets the
    // connection under the client's next write, and the answer is lost (protocol-errors.ts).
    const { port, hostname } = new URL(ctx.app.url);
    const socket = connect(Number(port), hostname);
    socket.pause();
    await once(socket, 'connect');
    const body = Buffer.alloc(length, 'x');
    socket.write(head(['POST /v1/card-loads HTTP/1.1', 'Host: x', auth, ...lines, `Content-Length: ${body.length}`]));
    await new Promise((r) => setTimeout(r, 200));
    const answer = new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('error', (e) => resolve(`error: ${e.message}`));
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1').split('\r\n')[0]));
    });
    socket.write(body);
    socket.end();
    await new Promise((r) => setTimeout(r, 200));
    socket.resume();
    expect(await answer).toBe(`HTTP/1.1 ${status}`);
  });

  it('should close a refused connection whose client keeps trickling its body within LINGER.ms', async () => {
    const { port, hostname } = new URL(ctx.app.url);
    // Half-open allowed: the client does not close its side when the server ends its own; it goes on sending.
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    await once(socket, 'connect');
    const t0 = performance.now();
    socket.write(head(['POST /v1/card-loads HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`, 'Content-Length: 1000000']));
    const trickle = setInterval(() => socket.write('x'.repeat(1_000)), 50);
    // Its next write after the server's close fails (EPIPE or a reset): that ends the socket here.
    const closed = new Promise((r) =>
      socket
        .on('error', () => undefined)
        .on('close', r)
        .resume(),
    );
    await Promise.race([closed, new Promise((r) => setTimeout(r, LINGER.ms + 1_500))]);
    clearInterval(trickle);
    socket.destroy();
    expect(performance.now() - t0).toBeGreaterThan(LINGER.ms - 100);
    expect(performance.now() - t0).toBeLessThan(LINGER.ms + 1_000);
  });

  it('should answer only once when a request refused before its body also has a broken body', async () => {
    const res = await rawRequest(
      ctx.app.url,
      head(['POST /v1/card-loads/%FF/resolve HTTP/1.1', 'Host: x', auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked']) +
        'zz\r\n{"a"\r\n0\r\n\r\n',
    );
    expect(res.status).toBe(400);
    expect(res.all.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(1);
  });

  it('should answer a path that is not valid percent-encoded UTF-8 with a 400 in the error shape', async () => {
    const res = await ctx.app.api('GET', '/v1/card-loads/%ED%A0%80');
    expect([res.status, res.body]).toEqual([400, errorShape('validation_failed', [{ field: 'url', message: expect.any(String) }])]);
  });

  it.each([
    ['PUT', '/v1/card-loads', 'GET, HEAD, POST'],
    ['DELETE', '/v1/card-loads/0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60', 'GET, HEAD'],
    ['GET', '/v1/card-loads/0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60/resolve', 'POST'],
    ['POST', '/health/live', 'GET, HEAD'],
    ['PATCH', '/v1/webhooks/0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60', 'DELETE, GET, HEAD'],
  ])('should answer %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const res = await ctx.app.api(method, path, { body: method === 'GET' ? undefined : {} });
    expect([res.status, res.headers.get('allow'), res.body]).toEqual([405, allow, errorShape('method_not_allowed')]);
  });

  it('should keep 404 for a path nothing serves, whatever the method', async () => {
    for (const method of ['GET', 'PUT', 'POST']) expect((await ctx.app.api(method, '/v1/nothing-here')).status).toBe(404);
  });
});
