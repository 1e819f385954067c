import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { EnKashTransport } from '../../src/enkash/enkash.transport';

/**
 * The EnKash transport's own HTTP path (src/enkash/enkash.http.ts), against a real server on a free port: what it
 * sends, how it reads answers a real EnKash or a proxy in front of it may give, and that a proxy named by the
 * environment is still honoured (those requests go through axios). docs/design.md, "EnKash requests without an
 * HTTP library".
 */
describe('EnKashTransport on Node http', () => {
  let server: Server;
  let url: string;
  let handler: (req: IncomingMessage, body: string, res: ServerResponse) => void;
  const transports: EnKashTransport[] = [];
  const transport = (timeoutMs = 2000) => {
    const t = new EnKashTransport(timeoutMs);
    transports.push(t);
    return t;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v0/partner/enKashCard/balance`;
  });
  afterEach(() => {
    for (const t of transports.splice(0)) t.close();
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('should send the body with its length and the caller headers, and ask for no compression', async () => {
    let seen: { method?: string; headers: IncomingMessage['headers']; body: string } | null = null;
    handler = (req, body, res) => {
      seen = { method: req.method, headers: req.headers, body };
      res.end('{"ok":true}');
    };
    const body = JSON.stringify({ uniqueReferenceNumber: 'CL-1', description: 'ünïcödé' });
    const wire = await transport().post(url, body, { 'Content-Type': 'application/json', Authorization: 'Bearer t' });
    expect(wire).toEqual({ kind: 'response', httpStatus: 200, text: '{"ok":true}' });
    expect(seen).toMatchObject({
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: 'Bearer t', 'content-length': String(Buffer.byteLength(body)) },
    });
    expect(seen!.headers['accept-encoding']).toBeUndefined();
    expect(seen!.headers['user-agent']).toBe('card-ledger');
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('should read an answer sent %s-encoded though none was asked for', async (encoding, encode) => {
    const text = JSON.stringify({ status: 'SUCCESS', payload: 'x'.repeat(10_000) });
    handler = (_req, _body, res) => {
      res.setHeader('content-encoding', encoding);
      res.end(encode(Buffer.from(text)));
    };
    expect(await transport().post(url, '{}', {})).toEqual({ kind: 'response', httpStatus: 200, text });
  });

  it.each(['zstd', 'utf-8', 'constructor', '__proto__'])(
    'should pass an answer in an encoding it does not know (%s) through as it came, as axios did',
    async (encoding) => {
      handler = (_req, _body, res) => {
        res.setHeader('content-encoding', encoding);
        res.end('{"status":"SUCCESS"}');
      };
      expect(await transport().post(url, '{}', {})).toEqual({ kind: 'response', httpStatus: 200, text: '{"status":"SUCCESS"}' });
    },
  );

  it('should read an empty answer marked gzip as empty, and drop a leading byte-order mark', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(204, { 'content-encoding': 'gzip' });
      res.end();
    };
    expect(await transport().post(url, '{}', {})).toEqual({ kind: 'response', httpStatus: 204, text: '' });
    handler = (_req, _body, res) => res.end('\uFEFF{"status":"SUCCESS"}');
    expect(await transport().post(url, '{}', {})).toEqual({ kind: 'response', httpStatus: 200, text: '{"status":"SUCCESS"}' });
  });

  it('should call an answer that decodes past 5 MB a bad response', async () => {
    handler = (_req, _body, res) => {
      res.setHeader('content-encoding', 'gzip');
      res.end(gzipSync(Buffer.alloc(6 * 1024 * 1024, 0x78))); // a few KB on the wire
    };
    expect(await transport().post(url, '{}', {})).toMatchObject({ kind: 'network', reason: 'bad-response', systemic: false });
  });

  it('should answer a header Node refuses to send with a network result, not a throw, and keep working', async () => {
    handler = (_req, _body, res) => res.end('fine');
    const t = transport();
    expect(await t.post(url, '{}', { Authorization: 'Bearer bad\r\nX-Injected: 1' })).toMatchObject({ kind: 'network' });
    expect(await t.post(url, '{}', { Authorization: 'Bearer ünïcödé-is-not-latin1-☃' })).toMatchObject({ kind: 'network' });
    expect(await t.post(url, '{}', {})).toEqual({ kind: 'response', httpStatus: 200, text: 'fine' });
  });

  it('should call an answer that does not decode a bad response', async () => {
    handler = (_req, _body, res) => {
      res.setHeader('content-encoding', 'gzip');
      res.end('not gzip at all');
    };
    expect(await transport().post(url, '{}', {})).toMatchObject({ kind: 'network', reason: 'bad-response', systemic: false });
  });

  it('should stop reading an answer past 5 MB', async () => {
    handler = (_req, _body, res) => {
      res.write('x'.repeat(3 * 1024 * 1024));
      res.end('x'.repeat(3 * 1024 * 1024));
    };
    expect(await transport().post(url, '{}', {})).toMatchObject({ kind: 'network', reason: 'bad-response', systemic: false });
  });

  it('should call a connection closed halfway through the answer a reset', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"status":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    expect(await transport().post(url, '{}', {})).toMatchObject({ kind: 'network', reason: 'reset', systemic: false });
  });

  it('should not follow a redirect: the 3xx is the answer', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(302, { location: `${url}/elsewhere` });
      res.end();
    };
    expect(await transport().post(url, '{}', {})).toEqual({ kind: 'response', httpStatus: 302, text: '' });
  });

  it('should answer a silent server as a timeout at the timeout, and use the socket again afterwards', async () => {
    handler = () => undefined; // never answers
    const t = transport(200);
    const started = performance.now();
    expect(await t.post(url, '{}', {})).toMatchObject({ kind: 'network', reason: 'timeout' });
    expect(performance.now() - started).toBeLessThan(1000);
    handler = (_req, _body, res) => res.end('fine');
    expect(await t.post(url, '{}', {})).toEqual({ kind: 'response', httpStatus: 200, text: 'fine' });
  });

  describe('with HTTP_PROXY set', () => {
    let proxy: Server;
    const proxied: string[] = [];
    const saved = process.env.HTTP_PROXY;

    beforeAll(async () => {
      // A forward proxy: takes the absolute URL of each request and replays it to the server.
      proxy = createServer((req, res) => {
        proxied.push(req.url ?? '');
        const out = httpRequest(req.url!, { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        req.pipe(out);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
      await new Promise<void>((r) => proxy.close(() => r()));
    });

    it('should send EnKash requests through the proxy', async () => {
      handler = (_req, body, res) => res.end(`echo ${body}`);
      expect(await transport().post(url, '{"a":1}', { 'Content-Type': 'application/json' })).toEqual({
        kind: 'response',
        httpStatus: 200,
        text: 'echo {"a":1}',
      });
      expect(proxied).toEqual([url]);
    });
  });
});
