import { rmSync } from 'node:fs';
import type { EmbeddedDatabase } from '../../src/database/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const handle = (globalThis as { __embeddedPg?: { db: EmbeddedDatabase; dir: string } }).__embeddedPg;
  if (!handle) return;
  await handle.db.stop();
  rmSync(handle.dir, { recursive: true, force: true });
}
