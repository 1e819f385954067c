import net from 'node:net';

/**
 * Sends bytes as they are over one TCP connection (what fetch refuses to send: a truncated body, a broken request
 * line, oversized headers) and answers the status and body of the reply. `halfClose` ends the sending side after
 * the bytes, as a client that gave up mid-body does.
 */
export function rawRequest(baseUrl: string, bytes: string, halfClose = true): Promise<{ status: number; headers: string; body: string }> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname, () => {
      socket.write(bytes);
      if (halfClose) socket.end();
    });
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = out.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, headers: head, body: rest.join('\r\n\r\n') });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(bytes.slice(0, 60))}`)));
  });
}
