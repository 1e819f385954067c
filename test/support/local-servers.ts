import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

/** What the specs that start servers of their own share (pgbouncer.ts, replica-pair.ts). */

/** describe(), or describe.skip() saying why on stdout when `reason` is set. */
export function describeUnless(reason: string | null, name: string, body: () => void): void {
  if (reason) {
    process.stdout.write(`skipping "${name}": ${reason}\n`);
    describe.skip(name, body);
  } else describe(name, body);
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** pgbouncer and Postgres refuse to run as root: as root they run as `postgres` (the server's user on Debian). */
export function postgresUserIfRoot(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}
