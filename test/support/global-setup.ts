import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

/**
 * One Postgres server for the whole run: TEST_DATABASE_URL / DATABASE_URL when given, else an embedded one
 * in a fresh folder (as a user on a new laptop would get). Each test file then creates its own database
 * from the real migrations (test/support/db.ts), so files run in parallel without sharing rows.
 */
export default async function globalSetup(): Promise<void> {
  const given = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (given) {
    process.env.CARD_LEDGER_TEST_SERVER_URL = given;
    process.stdout.write(`\ntests use the Postgres server at ${new URL(given).host}\n`);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-test-'));
  const db = await startEmbeddedPostgres(dir, () => undefined, 'postgres');
  process.env.CARD_LEDGER_TEST_SERVER_URL = db.url;
  (globalThis as { __embeddedPg?: unknown }).__embeddedPg = { db, dir };
  process.stdout.write(`\ntests use an embedded Postgres on 127.0.0.1:${db.port}\n`);
}
