import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** What a path answers: 2xx, a 500, or nothing at all (the request hangs until the receiver closes). */
export type Behaviour = 'ok' | 'fail' | 'hang';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number | null;
  atMs: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  set(path: string, behaviour: Behaviour): void;
  /** Requests to a path that were answered 2xx, in the order they were answered. */
  accepted(path: string): Received[];
  close(): Promise<void>;
}

/** A billing system's webhook endpoint in miniature, over real HTTP on a free port. */
export async function startReceiver(): Promise<Receiver> {
  const behaviours = new Map<string, Behaviour>();
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answered: null,
        atMs: Date.now(),
      };
      received.push(r);
      const b = behaviours.get(r.path) ?? 'ok';
      if (b === 'hang') return;
      r.answered = b === 'ok' ? 204 : 500;
      res.writeHead(r.answered, { 'content-type': 'text/plain' }).end(b === 'ok' ? '' : 'receiver is down for maintenance');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    set: (path, behaviour) => behaviours.set(path, behaviour),
    accepted: (path) => received.filter((r) => r.path === path && r.answered !== null && r.answered < 300),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
