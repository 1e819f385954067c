import { LedgerReads } from '../../src/database/replica/ledger-reads';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AccountsStore } from '../../src/accounts/accounts.store';
import { dataSourceOptions } from '../../src/database/data-source';
import { JournalStore } from '../../src/ledger/journal.store';
import { LedgerService } from '../../src/ledger/ledger.service';
import { createTestDatabase, sql } from './db';
import { setByHook } from './hooks';

/** What `useTestLedger` returns: read these inside tests and hooks, once its beforeAll has run. */
export interface TestLedgerContext {
  /** The TypeORM pool the ledger writes through. */
  readonly ds: DataSource;
  readonly ledger: LedgerService;
  /** A pg Client of its own on the same database, for assertions on rows (and, as superuser, for tampering). */
  readonly db: Client;
}

/**
 * Registers, for the ledger's own suites (no Nest app), a beforeAll that creates a fresh database from the
 * migrations, a TypeORM pool of `poolSize` connections on it with the LedgerService over that pool, and a pg Client;
 * and an afterAll that closes the Client and the pool, then drops the database. Hooks registered after this call run
 * after these (Jest runs beforeAll and afterAll hooks in the order they are declared).
 */
export function useTestLedger(poolSize: number): TestLedgerContext {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let ds: DataSource | undefined;
  let ledger: LedgerService | undefined;
  let db: Client | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    ds = new DataSource(dataSourceOptions(database.url, poolSize));
    await ds.initialize();
    ledger = new LedgerService(new JournalStore(ds, new LedgerReads(ds)), new AccountsStore(ds, new LedgerReads(ds)));
    db = await sql(database.url);
  });
  afterAll(async () => {
    await db?.end();
    if (ds?.isInitialized) await ds.destroy();
    await database?.drop();
    database = ds = ledger = db = undefined;
  });
  return {
    get ds() {
      return setByHook(ds, 'useTestLedger', 'DataSource', 'ds');
    },
    get ledger() {
      return setByHook(ledger, 'useTestLedger', 'LedgerService', 'ledger');
    },
    get db() {
      return setByHook(db, 'useTestLedger', 'Client', 'db');
    },
  };
}
