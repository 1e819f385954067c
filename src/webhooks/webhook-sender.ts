import { Inject, Injectable } from '@nestjs/common';
import { WEBHOOK_CONFIG, WebhookConfig } from './webhook-config';

export type AttemptStatus = 'succeeded' | 'http_error' | 'timeout' | 'network_error' | 'not_sent';

export interface AttemptResult {
  status: AttemptStatus;
  httpStatus: number | null;
  durationMs: number;
  error: string | null;
}

/** Enough of a refusal's body to tell an operator why, never the whole of it. */
const ERROR_BODY_BYTES = 512;

/**
 * The only code that calls receivers. One POST, bounded end to end by WEBHOOK_TIMEOUT_MS (headers and body);
 * redirects are not followed (a 3xx is a failure: the subscription should name the final URL).
 */
@Injectable()
export class WebhookSender {
  constructor(@Inject(WEBHOOK_CONFIG) private readonly config: WebhookConfig) {}

  async post(url: string, body: string, headers: Record<string, string>): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const signal = AbortSignal.timeout(this.config.timeoutMs);
    try {
      const res = await fetch(url, {
        method: 'POST', body, redirect: 'manual', signal,
        headers: { 'content-type': 'application/json', 'user-agent': 'card-ledger-webhooks/1', ...headers },
      });
      if (res.status >= 200 && res.status < 300) {
        await res.body?.cancel().catch(() => undefined);
        return { status: 'succeeded', httpStatus: res.status, durationMs: elapsed(), error: null };
      }
      const text = await readPrefix(res, ERROR_BODY_BYTES).catch(() => '');
      return { status: 'http_error', httpStatus: res.status, durationMs: elapsed(), error: `HTTP ${res.status}${text ? `: ${text}` : ''}` };
    } catch (e) {
      if (signal.aborted) return { status: 'timeout', httpStatus: null, durationMs: elapsed(), error: `no answer within ${this.config.timeoutMs} ms` };
      return { status: 'network_error', httpStatus: null, durationMs: elapsed(), error: describe(e) };
    }
  }
}

async function readPrefix(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < maxBytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8').replace(/\s+/g, ' ').trim();
}

/** fetch hides the socket error in `cause` (ECONNREFUSED, ENOTFOUND, a TLS failure...). */
function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return `${cause.code}${typeof cause.message === 'string' ? `: ${cause.message}` : ''}`;
  return e instanceof Error ? e.message : String(e);
}
