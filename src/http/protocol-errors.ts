import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, errorBody, ErrorCode, FieldProblem } from '../common/errors';
import { RegisteredRoute } from './route-registry';

/**
 * Answers Fastify gives outside Nest's filters, in the API's one error shape (API.md "Errors"): requests Node's
 * HTTP parser refuses, URLs that are not valid percent-encoding, and methods a known path does not take.
 */
const answer = (code: ErrorCode, message: string, details?: FieldProblem[]): [number, string] => {
  const err = new ApiError(code, message, details);
  return [err.status, JSON.stringify(errorBody(err))];
};

/**
 * Node's parser refused the request before any route saw it: headers too large (431), too slow (408), or a
 * malformed request line, header or body framing, a truncated chunked body included (400). The connection
 * cannot be trusted after that, so it is closed.
 */
export function clientErrorHandler(this: unknown, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || lingering.has(socket)) return;
  // The request was answered already (e.g. a 400 for its URL) and the rest of its body is broken: a second
  // answer on the same connection would be read as the answer to the next request. Node's own handler checks
  // the same (lib/_http_server.js); Fastify's does not.
  if ((socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    closeAfterDraining(socket);
    return;
  }
  const [status, body] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? answer('request_header_fields_too_large', 'the request headers are too large (at most 16 KiB in all)')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? answer('request_timeout', 'the request did not arrive in time')
        : /CHUNK|EOF|CONTENT_LENGTH|BODY/.test(err.code ?? '')
          ? answer('validation_failed', 'body: malformed or truncated', [{ field: 'body', message: 'is malformed or truncated' }])
          : answer('validation_failed', 'request: not a well-formed HTTP request', [
              { field: 'request', message: 'is not a well-formed HTTP request' },
            ]);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  closeAfterDraining(socket);
}

/** How long, and how much, a refused request's unread rest is read and dropped before the socket is destroyed. */
export const LINGER = { ms: 2_000, bytes: 2 * 1_048_576 } as const;
const lingering = new WeakSet<Socket>();

/**
 * Ends our side of the connection after the answer, then reads and drops what the client is still sending, for
 * at most LINGER, before destroying the socket. Destroying it at once while the client is mid-body (a 431 for
 * 17 KB of headers ahead of a 1 MB body) makes the kernel answer the client's next bytes with a reset, which
 * can discard our answer before the client reads it: the client sees "connection reset", not the 431. (HTTP/1.1's
 * advice for a server that closes early, RFC 9112 §9.6; Apache calls it lingering close.)
 */
function closeAfterDraining(socket: Socket): void {
  // Node's parser still sees what is drained and reports each chunk as another error: one linger a socket.
  if (lingering.has(socket)) return;
  lingering.add(socket);
  let dropped = 0;
  const stop = () => socket.destroy();
  const timer = setTimeout(stop, LINGER.ms);
  timer.unref();
  socket.on('close', () => clearTimeout(timer));
  socket.on('end', stop);
  socket.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER.bytes) stop();
  });
  socket.end();
  socket.resume();
}

/**
 * The same linger for answers that close the connection before their request's body was read: Fastify's 413 for a
 * declared length over the limit and json-body.ts's 415 say `Connection: close`, and after such an answer Node
 * closes the socket itself (`destroySoon`), a reset under a client still sending. For those sockets Node's close
 * becomes closeAfterDraining (Node's own parser meanwhile reads the rest of the body as the request's and drops it).
 */
export function lingerWhenClosingEarly(fastify: FastifyInstance): void {
  fastify.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.raw.complete || String(reply.getHeader('connection')).toLowerCase() !== 'close') return;
    const socket = req.raw.socket;
    socket.destroySoon = () => closeAfterDraining(socket);
  });
}

/** Fastify's router could not decode the path (e.g. %ED%A0%80, a lone surrogate): a 400 like any other. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const bad = err.code === 'FST_ERR_BAD_URL';
  const [status, body] = bad
    ? answer('validation_failed', 'url: the path is not valid percent-encoded UTF-8', [
        { field: 'url', message: 'is not valid percent-encoded UTF-8' },
      ])
    : answer('internal_error', 'internal error');
  void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
}

/**
 * A known path asked with a method it does not take answers 405 with `Allow` (RFC 9110 §15.5.6), instead of the
 * router's 404; a path nothing serves stays 404. The paths are matched by a router of the same kind Fastify
 * uses (find-my-way), built once from the routes as registered. (A path that is not valid percent-encoding never
 * gets here with a method it does not take: Fastify's 404 router answers it 404 before any hook.)
 */
export function installMethodNotAllowed(fastify: FastifyInstance, routes: () => RegisteredRoute[]): void {
  let router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1> | null = null;
  let methods: string[] = [];
  fastify.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.is404) return;
    if (router === null) {
      router = FindMyWay({ maxParamLength: fastify.initialConfig.maxParamLength });
      const all = routes();
      for (const r of all) router.on(r.method as FindMyWay.HTTPMethod, r.url, () => undefined);
      methods = [...new Set(all.map((r) => r.method))].sort();
    }
    const allowed = methods.filter((m) => router!.find(m as FindMyWay.HTTPMethod, req.url) !== null);
    if (allowed.length === 0) return;
    void reply.header('allow', allowed.join(', '));
    throw new ApiError('method_not_allowed', `${req.method} is not allowed here; this path takes ${allowed.join(', ')}`);
  });
}
