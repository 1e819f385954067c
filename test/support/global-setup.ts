import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { startPgbouncer } from './pgbouncer';

/**
 * One Postgres server for the whole run: TEST_DATABASE_URL / DATABASE_URL when given, else an embedded one
 * in a fresh folder (as a user on a new laptop would get). Each test file then creates its own database
 * from the real migrations (test/support/db.ts), so files run in parallel without sharing rows.
 * With CARD_LEDGER_TEST_VIA_PGBOUNCER=1 (`npm run test:pgbouncer`) the apps, workers and migrations reach that
 * server through a private pgbouncer in transaction pooling mode; the tests' own checks and tampering go direct.
 */
export default async function globalSetup(): Promise<void> {
  let server = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (server) {
    process.stdout.write(`\ntests use the Postgres server at ${new URL(server).host}\n`);
  } else {
    const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-test-'));
    const db = await startEmbeddedPostgres(dir, () => undefined, 'postgres');
    server = db.url;
    (globalThis as { __embeddedPg?: unknown }).__embeddedPg = { db, dir };
    process.stdout.write(`\ntests use an embedded Postgres on 127.0.0.1:${db.port}\n`);
  }
  process.env.CARD_LEDGER_TEST_SERVER_URL = server;
  if (process.env.CARD_LEDGER_TEST_VIA_PGBOUNCER === '1') {
    const bouncer = await startPgbouncer(server);
    (globalThis as { __pgbouncer?: unknown }).__pgbouncer = bouncer;
    process.env.CARD_LEDGER_TEST_DIRECT_URL = server;
    process.env.CARD_LEDGER_TEST_SERVER_URL = bouncer.via(server);
    process.stdout.write(`through pgbouncer (transaction pooling) on 127.0.0.1:${bouncer.port}\n`);
  }
}
