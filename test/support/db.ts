import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';

export function serverUrl(): string {
  const url = process.env.CARD_LEDGER_TEST_SERVER_URL;
  if (!url) throw new Error('CARD_LEDGER_TEST_SERVER_URL is unset: run the tests through jest (global setup)');
  return url;
}

/**
 * `url` as the tests themselves reach it: straight to the server, also when the apps go through pgbouncer
 * (global-setup.ts). Assertions and tampering (a superuser's `SET session_replication_role`) are an operator's
 * psql, not the service, and may keep session state.
 */
export function directUrl(url: string): string {
  const direct = process.env.CARD_LEDGER_TEST_DIRECT_URL;
  if (!direct) return url;
  const u = new URL(url);
  const d = new URL(direct);
  u.host = d.host;
  u.username = d.username;
  u.password = d.password;
  return u.toString();
}

export function databaseUrl(name: string): string {
  const u = new URL(serverUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh database with every migration applied, for one test file. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `cl_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: directUrl(serverUrl()) });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  await runMigrations(url);
  return {
    url,
    name,
    drop: async () => {
      const c = new Client({ connectionString: directUrl(serverUrl()) });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A direct connection for assertions on rows (and, as superuser, for tampering in tests). */
export async function sql(url: string): Promise<Client> {
  const c = new Client({ connectionString: directUrl(url) });
  await c.connect();
  return c;
}

/**
 * As the owner of the tables: the statements in one transaction with every trigger off (session_replication_role =
 * replica), as a tampering owner would write rows around the ledger's checks (docs/audit.md).
 */
export async function asOwner(c: Client, statements: Array<[string, unknown[]?]>): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query('SET LOCAL session_replication_role = replica');
    for (const [statement, params] of statements) await c.query(statement, params);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK');
    throw e;
  }
}

/**
 * A fresh database with only `migrations` applied (an earlier release's schema), for a suite that fills it as that
 * release did and then runs the newer migrations on it.
 */
export async function createDatabaseAt(
  prefix: string,
  migrations: DataSourceOptions['migrations'],
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await sql(serverUrl());
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = databaseUrl(name);
  const ds = new DataSource({ ...dataSourceOptions(url, 2), migrations });
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  await ds.destroy();
  return {
    url,
    drop: async () => {
      const c = await sql(serverUrl());
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
