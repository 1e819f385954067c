import { Agent as HttpAgent, ClientRequest, IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { brotliDecompressSync, constants as zlib, unzipSync } from 'node:zlib';

/** What a direct POST came to: the status and raw text, or the error the socket, a timer or the size cap raised. */
export type DirectAnswer = { ok: true; status: number; text: string } | { ok: false; error: Error };

/** An error that names its cause by `code`, as Node's own socket errors do: networkFailure reads the code. */
function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Who is calling, for firewalls in front of EnKash that refuse requests without one. */
const USER_AGENT = 'card-ledger';

/**
 * One POST on Node's own http(s).request, with no HTTP library in between: the sync worker makes one EnKash request
 * per load, and axios' config merging, header objects, stream adapters and interceptor promises cost about three
 * times the request itself in CPU (docs/design.md, "EnKash requests without an HTTP library"). Never throws or
 * rejects (a header Node refuses, a URL it cannot use: an error answer); never follows a redirect. `hardMs` and
 * `cut` end the exchange (request and answer); at most `maxBytes` are read, before and after decoding. `onRequest`
 * sees the request before anything is written (the late-write refusal hooks in).
 */
export function directPost(
  url: URL,
  agent: HttpAgent | HttpsAgent | undefined,
  body: string,
  headers: Record<string, string>,
  limits: { hardMs: number; cut: AbortSignal; maxBytes: number },
  onRequest: (req: ClientRequest) => void,
): Promise<DirectAnswer> {
  return new Promise<DirectAnswer>((resolve) => {
    let req: ClientRequest | null = null;
    let done = false;
    const finish = (answer: DirectAnswer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      limits.cut.removeEventListener('abort', onCut);
      if (!answer.ok) req?.destroy();
      resolve(answer);
    };
    const fail = (error: Error) => finish({ ok: false, error });
    const onCut = () => fail(codedError('ERR_CANCELED', 'the request was given up'));
    const timer = setTimeout(() => fail(codedError('ECONNABORTED', `timeout of ${limits.hardMs}ms exceeded`)), limits.hardMs);
    if (limits.cut.aborted) return onCut();
    limits.cut.addEventListener('abort', onCut, { once: true });
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    try {
      const sent = { 'User-Agent': USER_AGENT, ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
      req = send(url, { method: 'POST', agent, headers: sent }, (res) => readAnswer(res, limits.maxBytes, finish));
      req.on('error', fail);
      onRequest(req);
      req.end(body);
    } catch (e) {
      // Node refused the request before writing anything (ERR_INVALID_CHAR in a header, a malformed URL part).
      fail(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

/**
 * Reads the answer whole (at most `maxBytes`), then decodes it as its Content-Encoding says: none is asked for, but a
 * server may send one anyway. As axios did: gzip, deflate and compress by zlib's auto-detection (a missing trailer
 * tolerated), br by brotli, any other value passed through as it came; a leading byte-order mark dropped.
 */
function readAnswer(res: IncomingMessage, maxBytes: number, done: (answer: DirectAnswer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  const fail = (error: Error) => {
    over = true;
    res.destroy();
    done({ ok: false, error });
  };
  res.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > maxBytes) fail(codedError('ERR_BAD_RESPONSE', `the answer exceeded ${maxBytes} bytes`));
    else chunks.push(chunk);
  });
  // The connection closed before the answer's end (Node says 'aborted'): what EnKash meant is unknown, a reset.
  const cutShort = () => {
    if (!over) fail(codedError('ECONNRESET', 'the connection closed before the answer was complete'));
  };
  res.on('error', cutShort);
  res.on('close', () => {
    if (!res.complete) cutShort();
  });
  res.on('end', () => {
    if (over) return;
    over = true;
    let raw: Buffer = Buffer.concat(chunks);
    const encoding = String(res.headers['content-encoding'] ?? '')
      .trim()
      .toLowerCase();
    const decode = DECODERS.get(encoding);
    if (decode && raw.length > 0) {
      try {
        raw = decode(raw, maxBytes);
      } catch (e) {
        const why = (e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' ? `exceeded ${maxBytes} bytes` : 'did not decode';
        done({ ok: false, error: codedError('ERR_BAD_RESPONSE', `the ${encoding} answer ${why}`) });
        return;
      }
    }
    const text = raw.toString('utf8');
    done({ ok: true, status: res.statusCode ?? 0, text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text });
  });
}

const UNZIP = { flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH };
const unzip = (raw: Buffer, max: number) => unzipSync(raw, { ...UNZIP, maxOutputLength: max });
const DECODERS = new Map<string, (raw: Buffer, max: number) => Buffer>([
  ['gzip', unzip],
  ['x-gzip', unzip],
  ['deflate', unzip],
  ['compress', unzip],
  ['x-compress', unzip],
  ['br', (raw, max) => brotliDecompressSync(raw, { maxOutputLength: max })],
]);
