import { HttpService } from '@nestjs/axios';
import axios, { AxiosRequestConfig } from 'axios';
import { ClientRequest, Agent as HttpAgent, IncomingMessage, request as httpRequest, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Socket } from 'node:net';
import { getProxyForUrl } from 'proxy-from-env';
import { directPost } from './enkash.http';

/**
 * One POST over keep-alive sockets with a hard deadline. Never throws and never interprets the body:
 * it returns the status and the raw text, or what went wrong on the wire.
 */
export type WireResult =
  | { kind: 'response'; httpStatus: number; text: string }
  | { kind: 'network'; reason: string; message: string; systemic: boolean }
  /** Nothing was sent: too little time was left before the caller's deadline. */
  | { kind: 'not-sent'; message: string };

/** A request given less time than this is not started: it could only time out, with its effect unknown. */
const MIN_REQUEST_MS = 50;

/** Lookups can be long lists; anything beyond this is not an EnKash answer. */
const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

/**
 * What became of a request its caller gave up on at the deadline: the answer EnKash sent after all, and how
 * long after the give-up it came. It bounds how late EnKash can act on a request (docs/operations.md, "Sizing
 * SYNC_LOOKUP_GRACE_MS").
 */
export interface LateAnswer {
  wire: { kind: 'response'; httpStatus: number; text: string };
  latenessMs: number;
}

/** How many abandoned requests are watched at once; past that they are cut at the deadline as before. */
const MAX_WATCHED = 16;

/**
 * The axios settings of every EnKash request (HttpModule.registerAsync in enkash.module.ts): keep-alive sockets,
 * the EnKash timeout, and no redirects (a redirect on a money POST is a misconfigured URL, not something to follow).
 */
export function enkashHttpOptions(timeoutMs: number): AxiosRequestConfig {
  return {
    timeout: timeoutMs,
    maxRedirects: 0,
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
  };
}

/** How a URL is reached: straight on Node's http(s), or through axios when the environment names a proxy for it. */
interface Route {
  url: URL;
  viaProxy: boolean;
}

export class EnKashTransport {
  private readonly http: HttpService;
  private watching = 0;
  /** Per URL (the client uses two or three): parsed once, its proxy read from the environment once. */
  private readonly routes = new Map<string, Route>();

  /**
   * `lateWatchMs`: how long after its deadline a watched request stays open for its late answer. The sync worker
   * sets it to the lookup grace, so a request is never open on the wire when its load may be looked up again.
   */
  constructor(
    private readonly timeoutMs: number,
    http?: HttpService,
    private readonly lateWatchMs = 0,
  ) {
    this.http = http ?? new HttpService(axios.create(enkashHttpOptions(timeoutMs)));
  }

  /**
   * `deadlineMono` (performance.now() time) cuts the timeout and refuses to start a request once it has passed:
   * the caller's lease only covers requests that end by then. The deadline is checked again when the request gets
   * its socket and when that socket connects, right before Node writes the body, so a process paused in between
   * (SIGSTOP, a stalled VM) does not send it late. With `onLate`, a request that outlives its timeout is answered
   * as a timeout at once but kept open (for `lateWatchMs`, no longer) so that its late answer, if any, is reported.
   */
  async post(
    url: string,
    body: string,
    headers: Record<string, string>,
    deadlineMono = Infinity,
    onLate?: (late: LateAnswer) => void,
  ): Promise<WireResult> {
    const timeoutMs = Math.min(this.timeoutMs, Math.floor(deadlineMono - performance.now()));
    if (timeoutMs < MIN_REQUEST_MS) return { kind: 'not-sent', message: 'the exchange deadline passed before this request could start' };
    // A watch slot is taken now and given back unless the request ends up watched, so the cap holds under bursts.
    const watch = onLate !== undefined && this.lateWatchMs > 0 && this.watching < MAX_WATCHED;
    if (watch) this.watching += 1;
    const hardMs = watch ? timeoutMs + this.lateWatchMs : timeoutMs;
    const cut = new AbortController();
    const sent: { req: ClientRequest | null } = { req: null };
    const writeBy = Number.isFinite(deadlineMono) ? deadlineMono : performance.now() + timeoutMs;
    const request = this.request(url, body, headers, hardMs, cut.signal, sent, writeBy);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
    const first = await Promise.race([request, deadline]);
    clearTimeout(timer);
    if (first !== null) {
      if (watch) this.watching -= 1;
      return first;
    }
    // Only a request wholly handed to the network before the deadline may go on: one still waiting for a socket
    // or a connection would otherwise be sent after the caller's lease stopped covering it.
    if (!watch || !sent.req?.writableFinished) {
      if (watch) this.watching -= 1;
      cut.abort();
      await request; // settles at once on abort
    } else {
      const gaveUpMono = performance.now();
      void request.then((late) => {
        this.watching -= 1;
        if (late.kind === 'response') onLate({ wire: late, latenessMs: performance.now() - gaveUpMono });
      });
    }
    return { kind: 'network', reason: 'timeout', message: `no answer within ${timeoutMs} ms`, systemic: false };
  }

  private async request(
    url: string,
    body: string,
    headers: Record<string, string>,
    hardMs: number,
    cut: AbortSignal,
    sent: { req: ClientRequest | null },
    writeByMono: number,
  ): Promise<WireResult> {
    // Either way the request is seen, and refused a write past the deadline, before anything is written.
    const watched = (req: ClientRequest) => {
      sent.req = req;
      refuseLateWrites(req, writeByMono);
    };
    const route = this.route(url);
    if (route && !route.viaProxy) {
      const defaults = this.http.axiosRef.defaults;
      const agent = (route.url.protocol === 'https:' ? defaults.httpsAgent : defaults.httpAgent) as HttpAgent | undefined;
      const answer = await directPost(route.url, agent, body, headers, { hardMs, cut, maxBytes: MAX_RESPONSE_BYTES }, watched);
      if (answer.ok) return { kind: 'response', httpStatus: answer.status, text: answer.text };
      if (answer.error instanceof LateWriteRefused) return { kind: 'not-sent', message: answer.error.message };
      return networkFailure(answer.error, hardMs);
    }
    try {
      // Through a proxy (HTTP_PROXY / HTTPS_PROXY / NO_PROXY, as axios reads them), or a URL Node cannot parse
      // (axios reports it as a configuration error). axiosRef, not the Observable: unsubscribing from that aborts
      // the finished request, and building the CanceledError (with its stack) cost about 40 µs per call.
      const res = await this.http.axiosRef.request<string>({
        method: 'POST',
        url,
        data: body,
        headers,
        // timeout alone is a socket idle timer; the signal bounds the whole exchange.
        timeout: hardMs,
        signal: AbortSignal.any([cut, AbortSignal.timeout(hardMs)]),
        responseType: 'text',
        transformResponse: [(data: unknown) => data],
        validateStatus: () => true,
        // Also per request: a redirect on a money POST is a misconfigured URL, whatever axios it runs on.
        maxRedirects: 0,
        maxContentLength: MAX_RESPONSE_BYTES,
        // Node's own request functions, wrapped to see the request and to refuse to write it past the deadline.
        transport: {
          request: (options: RequestOptions, callback: (res: IncomingMessage) => void) => {
            const req = (options.protocol === 'https:' ? httpsRequest : httpRequest)(options, callback);
            watched(req);
            return req;
          },
        },
      });
      return { kind: 'response', httpStatus: res.status, text: typeof res.data === 'string' ? res.data : '' };
    } catch (e) {
      if (e instanceof Error && (e.cause instanceof LateWriteRefused || /exchange deadline passed/.test(e.message))) {
        return { kind: 'not-sent', message: e.message };
      }
      return networkFailure(e, hardMs);
    }
  }

  /** null for a URL that is not http(s): axios gives its configuration error, as before. */
  private route(url: string): Route | null {
    let route = this.routes.get(url);
    if (route) return route;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return null;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
    route = { url: parsed, viaProxy: getProxyForUrl(url) !== '' };
    if (this.routes.size < 16) this.routes.set(url, route);
    return route;
  }

  /** Closes the keep-alive sockets of the agents enkashHttpOptions gave this client's axios. */
  close(): void {
    const defaults = this.http.axiosRef.defaults;
    for (const agent of [defaults.httpAgent, defaults.httpsAgent]) (agent as HttpAgent | undefined)?.destroy();
  }
}

/**
 * Node writes a request's head and body when the request gets its socket (a free keep-alive socket, or one that
 * freed up) and, on a new connection, once it connects. Both happen in I/O callbacks that a resumed process runs
 * before its timers, so the deadline timer alone cannot stop a late write: check the clock at those two moments,
 * before the write. What is left is the time between this check and the write syscall, in one tick; no fence can
 * close that, since EnKash checks no token (docs/design.md, "Leases and fences").
 */
function refuseLateWrites(req: ClientRequest, writeByMono: number): void {
  const late = () => performance.now() > writeByMono;
  req.on('socket', (socket: Socket) => {
    if (late()) {
      req.destroy(new LateWriteRefused('the exchange deadline passed before the request got a socket; nothing was sent'));
      return;
    }
    // Registered before Node's own 'connect' listener that flushes the queued write: it runs first.
    if (socket.connecting) {
      socket.prependOnceListener('connect', () => {
        if (late()) req.destroy(new LateWriteRefused('the exchange deadline passed while connecting; nothing was sent'));
      });
    }
  });
}

class LateWriteRefused extends Error {}

const TLS_CODES = /^(CERT_|ERR_TLS_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_)/;

/**
 * Only the error code and axios' own short text are kept: the error object also holds the request config,
 * headers included, and must never reach a log or an outcome.
 */
function networkFailure(e: unknown, timeoutMs: number): WireResult {
  // By shape, not `instanceof`: axios' errors and Node's socket errors alike carry `code` and `message`, and Node's
  // come from another realm under a test runner's VM context.
  const err = typeof e === 'object' && e !== null ? (e as { code?: unknown; message?: unknown }) : {};
  const code = typeof err.code === 'string' ? err.code : 'UNKNOWN';
  const text = typeof err.message === 'string' ? err.message : 'request failed';
  const message = `${text} (${code})`;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED' || /timeout|aborted/i.test(text)) {
    return { kind: 'network', reason: 'timeout', message: `no answer within ${timeoutMs} ms (${code})`, systemic: false };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/i.test(text))
    return { kind: 'network', reason: 'reset', message, systemic: false };
  if (code === 'ECONNREFUSED') return { kind: 'network', reason: 'connection-refused', message, systemic: false };
  if (code === 'ERR_INVALID_URL' || code === 'ERR_BAD_OPTION_VALUE') return { kind: 'network', reason: 'config', message, systemic: true };
  if (TLS_CODES.test(code)) return { kind: 'network', reason: 'tls', message, systemic: true };
  if (code === 'ERR_BAD_RESPONSE' || code === 'ERR_FR_MAX_BODY_LENGTH_EXCEEDED')
    return { kind: 'network', reason: 'bad-response', message, systemic: false };
  return { kind: 'network', reason: 'network', message, systemic: false };
}
