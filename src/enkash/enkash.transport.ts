import { HttpService } from '@nestjs/axios';
import axios, { AxiosError } from 'axios';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/**
 * One POST over keep-alive sockets with a hard deadline. Never throws and never interprets the body:
 * it returns the status and the raw text, or what went wrong on the wire.
 */
export type WireResult =
  | { kind: 'response'; httpStatus: number; text: string }
  | { kind: 'network'; reason: string; message: string; systemic: boolean };

/** Lookups can be long lists; anything beyond this is not an EnKash answer. */
const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

export class EnKashTransport {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 });
  private readonly http: HttpService;

  constructor(private readonly timeoutMs: number, http?: HttpService) {
    this.http = http ?? new HttpService(axios.create());
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<WireResult> {
    try {
      // axiosRef, not the Observable: unsubscribing from that aborts the finished request, and building the
      // CanceledError (with its stack) cost about 40 µs per EnKash call on the sync worker's hot path.
      const res = await this.http.axiosRef.request<string>({
        method: 'POST', url, data: body, headers,
        // timeout alone is a socket idle timer; the signal bounds the whole exchange.
        timeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
        responseType: 'text',
        transformResponse: [(data: unknown) => data],
        validateStatus: () => true,
        // A redirect on a money POST is a misconfigured URL, not something to follow.
        maxRedirects: 0,
        maxContentLength: MAX_RESPONSE_BYTES,
        httpAgent: this.httpAgent,
        httpsAgent: this.httpsAgent,
      });
      return { kind: 'response', httpStatus: res.status, text: typeof res.data === 'string' ? res.data : '' };
    } catch (e) {
      return networkFailure(e, this.timeoutMs);
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

const TLS_CODES = /^(CERT_|ERR_TLS_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_)/;

/**
 * Only the error code and axios' own short text are kept: the error object also holds the request config,
 * headers included, and must never reach a log or an outcome.
 */
function networkFailure(e: unknown, timeoutMs: number): WireResult {
  const err = e instanceof AxiosError || axios.isCancel(e) ? (e as AxiosError) : null;
  const code = err?.code ?? (e instanceof Error && 'code' in e ? String((e as { code: unknown }).code) : 'UNKNOWN');
  const text = err?.message ?? (e instanceof Error ? e.message : 'request failed');
  const message = `${text} (${code})`;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED' || /timeout|aborted/i.test(text)) {
    return { kind: 'network', reason: 'timeout', message: `no answer within ${timeoutMs} ms (${code})`, systemic: false };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/i.test(text)) return { kind: 'network', reason: 'reset', message, systemic: false };
  if (code === 'ECONNREFUSED') return { kind: 'network', reason: 'connection-refused', message, systemic: false };
  if (code === 'ERR_INVALID_URL' || code === 'ERR_BAD_OPTION_VALUE') return { kind: 'network', reason: 'config', message, systemic: true };
  if (TLS_CODES.test(code)) return { kind: 'network', reason: 'tls', message, systemic: true };
  if (code === 'ERR_BAD_RESPONSE' || code === 'ERR_FR_MAX_BODY_LENGTH_EXCEEDED') return { kind: 'network', reason: 'bad-response', message, systemic: false };
  return { kind: 'network', reason: 'network', message, systemic: false };
}
