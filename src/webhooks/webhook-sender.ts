import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Agent as HttpAgent, IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { WEBHOOK_CONFIG, WebhookConfig } from './webhook-config';
import { guardedLookup, RefusedTargetError, refusedHost } from './webhook-target-guard';

export type AttemptStatus = 'succeeded' | 'http_error' | 'timeout' | 'network_error' | 'not_sent';

export interface AttemptResult {
  status: AttemptStatus;
  httpStatus: number | null;
  durationMs: number;
  error: string | null;
}

/** Enough of a refusal's body to tell an operator why, never the whole of it. */
const ERROR_BODY_BYTES = 512;

class AttemptTimeoutError extends Error {}

/**
 * The only code that calls receivers. One POST, bounded end to end by WEBHOOK_TIMEOUT_MS (headers and body);
 * redirects are not followed (a 3xx is a failure: the subscription should name the final URL).
 * node:http rather than fetch: its agents take a `lookup`, where the address guard sees the exact address each
 * connection uses. The agents are this sender's own, so no pooled socket comes from code that was not guarded.
 */
@Injectable()
export class WebhookSender implements OnApplicationShutdown {
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;

  constructor(@Inject(WEBHOOK_CONFIG) private readonly config: WebhookConfig) {
    const guard = config.allowPrivateUrls ? {} : { lookup: guardedLookup() };
    this.httpAgent = new HttpAgent({ keepAlive: true, ...guard });
    this.httpsAgent = new HttpsAgent({ keepAlive: true, ...guard });
  }

  /** After the worker's drain (beforeApplicationShutdown): idle keep-alive sockets go. */
  onApplicationShutdown(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const target = new URL(url);
    // Refused, not failed for good: retried like any failure within WEBHOOK_MAX_AGE_MS, since DNS may point back
    // to a public address or the operator may allow private targets; each retry costs one lookup, sends nothing.
    // An IP literal is connected to without a lookup, so the agents' guard never sees it: it is judged here.
    const literal = this.config.allowPrivateUrls ? null : refusedHost(target.hostname);
    if (literal) return refused(literal, 0);
    try {
      const res = await this.exchange(target, body, headers);
      if (res.status >= 200 && res.status < 300) return { status: 'succeeded', httpStatus: res.status, durationMs: elapsed(), error: null };
      return {
        status: 'http_error',
        httpStatus: res.status,
        durationMs: elapsed(),
        error: `HTTP ${res.status}${res.text ? `: ${res.text}` : ''}`,
      };
    } catch (e) {
      if (e instanceof RefusedTargetError) return refused(e.message, elapsed());
      if (e instanceof AttemptTimeoutError)
        return { status: 'timeout', httpStatus: null, durationMs: elapsed(), error: `no answer within ${this.config.timeoutMs} ms` };
      return { status: 'network_error', httpStatus: null, durationMs: elapsed(), error: describe(e) };
    }
  }

  /** Settles on a 2xx status line (the body drains in the background) or on the start of a refusal's body. */
  private exchange(target: URL, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    const options = {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'card-ledger-webhooks/1',
        ...headers,
        'content-length': String(Buffer.byteLength(body)),
      },
    };
    return new Promise((resolve, reject) => {
      const req =
        target.protocol === 'https:'
          ? httpsRequest(target, { ...options, agent: this.httpsAgent })
          : httpRequest(target, { ...options, agent: this.httpAgent });
      // One deadline from connect to last byte; 'close' comes once the response is read or the socket is gone.
      const deadline = setTimeout(() => req.destroy(new AttemptTimeoutError()), this.config.timeoutMs);
      req.once('close', () => clearTimeout(deadline));
      req.on('error', reject); // `on`: a late error (the deadline during a background drain) must not go unheard
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        res.on('error', () => undefined);
        if (status >= 200 && status < 300) {
          res.resume();
          resolve({ status, text: '' });
        } else {
          readPrefix(res, ERROR_BODY_BYTES).then(
            (text) => resolve({ status, text }),
            () => resolve({ status, text: '' }),
          );
        }
      });
      req.end(body);
    });
  }
}

const refused = (why: string, durationMs: number): AttemptResult => ({
  status: 'not_sent',
  httpStatus: null,
  durationMs,
  error: `refused: ${why} (WEBHOOK_ALLOW_PRIVATE_URLS)`,
});

async function readPrefix(res: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= maxBytes) break; // leaving the loop destroys the response: the rest is not read
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8').replace(/\s+/g, ' ').trim();
}

/** A socket error with its code (ECONNREFUSED, ENOTFOUND, a TLS failure...); trying every address gives an empty message. */
function describe(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  if (typeof code !== 'string' || message.includes(code)) return message || 'connection failed';
  return message ? `${code}: ${message}` : code;
}
