import { Agent as HttpAgent, ClientRequest, IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** What a direct POST came to: the status and raw text, or the error the socket, a timer or the size cap raised. */
export type DirectAnswer = { ok: true; status: number; text: string } | { ok: false; error: Error };

/** An error that names its cause by `code`, as Node's own socket errors do: networkFailure reads the code. */
function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * One POST on Node's own http(s).request, with no HTTP library in between: the sync worker makes one EnKash request
 * per load, and axios' config merging, header objects, stream adapters and interceptor promises cost about three
 * times the request itself in CPU (docs/design.md, "EnKash requests without an HTTP library"). Never throws; never
 * follows a redirect. `hardMs` and `cut` end the exchange (request and answer); the answer is read to `maxBytes` of
 * decoded text at most. `onRequest` sees the request before anything is written (the late-write refusal hooks in).
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
    req = send(url, { method: 'POST', agent, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
      void readAnswer(res, limits.maxBytes).then(finish);
    });
    req.on('error', fail);
    onRequest(req);
    req.end(body);
  });
}

/** The answer's text, decoded as its Content-Encoding says (none is asked for, but a server may send one anyway). */
function readAnswer(res: IncomingMessage, maxBytes: number): Promise<DirectAnswer> {
  return new Promise<DirectAnswer>((resolve) => {
    const fail = (error: Error) => {
      res.destroy();
      resolve({ ok: false, error });
    };
    const encoding = String(res.headers['content-encoding'] ?? 'identity')
      .trim()
      .toLowerCase();
    let stream: Readable = res;
    if (encoding !== 'identity' && encoding !== '') {
      const make = DECODERS[encoding];
      if (!make) return fail(codedError('ERR_BAD_RESPONSE', `the answer is encoded as ${encoding}, which this client does not read`));
      const decoded = make();
      decoded.on('error', (e: Error & { code?: string }) =>
        fail(codedError('ERR_BAD_RESPONSE', `the answer could not be decoded as ${encoding} (${e.code ?? e.message})`)),
      );
      stream = res.pipe(decoded);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) fail(codedError('ERR_BAD_RESPONSE', `the answer exceeded ${maxBytes} bytes`));
      else chunks.push(chunk);
    });
    // The connection closed before the answer's end (Node says 'aborted'): what EnKash meant is unknown, a reset.
    const cutShort = () => fail(codedError('ECONNRESET', 'the connection closed before the answer was complete'));
    res.on('error', cutShort);
    res.on('close', () => {
      if (!res.complete) cutShort();
    });
    stream.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
  });
}

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};
