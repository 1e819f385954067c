import net from 'node:net';

/**
 * Sends bytes as they are over one TCP connection (what fetch refuses to send: a truncated body, a broken request
 * line, oversized headers) and answers the status, headers and body of the first reply (its Content-Length bytes:
 * the server may write more after it, e.g. a 400 for the rest of a body it refused early). `halfClose` ends the
 * sending side after the bytes, as a client that gave up mid-body does. `all` is every byte the server sent.
 */
export function rawRequest(
  baseUrl: string,
  bytes: string,
  halfClose = true,
): Promise<{ status: number; headers: string; body: string; all: string }> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname, () => {
      socket.write(bytes);
      if (halfClose) socket.end();
    });
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const out = Buffer.concat(chunks);
      const end = out.indexOf('\r\n\r\n');
      const head = out.subarray(0, end < 0 ? out.length : end).toString('latin1');
      const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? out.length);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const body = end < 0 ? '' : out.subarray(end + 4, end + 4 + length).toString('utf8');
      resolve({ status, headers: head, body, all: out.toString('latin1') });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(bytes.slice(0, 60))}`)));
  });
}
