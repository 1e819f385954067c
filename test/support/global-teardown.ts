import { rmSync } from 'node:fs';
import type { EmbeddedDatabase } from '../../src/database/embedded-postgres';
import type { RunningPgbouncer } from './pgbouncer';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __pgbouncer?: RunningPgbouncer }).__pgbouncer?.stop();
  const handle = (globalThis as { __embeddedPg?: { db: EmbeddedDatabase; dir: string } }).__embeddedPg;
  if (!handle) return;
  await handle.db.stop();
  rmSync(handle.dir, { recursive: true, force: true });
}
