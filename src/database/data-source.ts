import { DataSource, DataSourceOptions } from 'typeorm';
import { Client, ClientConfig } from 'pg';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { assert } from '../common/assert';
import { withJobLock } from './job-lock';
import { MIGRATIONS } from './migrations';

/**
 * A pooled connection that always has an 'error' listener. pg emits 'error' on a connection the server ends (a
 * restart, a failover, an idle kill); the pool listens only while the connection is idle and TypeORM only while a
 * query runner holds it, so an error in between (or a second one after TypeORM released it) had no listener and
 * would crash the process. Those errors are answered where the query fails (503, docs/operations.md).
 */
class PooledClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/**
 * How long the pool keeps a connection nobody uses. pg-pool's default, 10 s, made a read after a pause start on new
 * connections, and a new Postgres backend pays a page fault on its first touch of each page of shared_buffers: on a
 * 1,000,000-load ledger without huge pages a trial balance took 181–314 ms after 13 s idle, and 64–107 ms with
 * connections kept (docs/operations.md, "Connections kept warm"). Well under a proxy's idle cut (HAProxy's 30 min in "Failover").
 */
const POOL_IDLE_MS = 5 * 60_000;
/**
 * And how long it keeps any connection: a busy pool's connections are never idle, so only a lifetime bounds how long one
 * can stay on a server that is no longer the primary where no proxy cuts its sessions (docs/operations.md).
 */
const POOL_LIFETIME_S = 30 * 60;

/** How every pool of the service keeps its connections (the primary's here, the read replica's in ReadReplica). */
export const POOL_KEEPING = {
  idleTimeoutMillis: POOL_IDLE_MS,
  maxLifetimeSeconds: POOL_LIFETIME_S,
  // Idle connections hold no process open (a CLI command ends when its work does); TCP keepalive finds a peer that went
  // away while a connection waited.
  allowExitOnIdle: true,
  keepAlive: true,
} as const;

export function dataSourceOptions(url: string, poolSize = 20): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    entities: [],
    poolSize,
    // bigint columns come back as strings; money code turns them into bigint explicitly.
    extra: {
      max: poolSize,
      ...POOL_KEEPING,
      connectionTimeoutMillis: 10_000,
      application_name: 'card-ledger',
      Client: PooledClient,
    },
  };
}

/** Any number 64-bit value that identifies "the migration lock" across instances. */
export const MIGRATION_LOCK_KEY = 7_310_412_001;

/** The URL a DataSource was configured with (every one here is: dataSourceOptions). */
export function dataSourceUrl(ds: DataSource): string {
  const url = (ds.options as PostgresConnectionOptions).url;
  assert(url, 'the data source is configured by URL');
  return url;
}

/**
 * Applies pending migrations once, even when several instances start at the same moment: the migration lock
 * (database/job-lock.ts, transaction-scoped so that it holds behind pgbouncer) makes the others wait, and then find
 * nothing to do. Each migration runs in its own transaction on another connection.
 */
export async function runMigrations(url: string): Promise<string[]> {
  return underMigrationLock(url, async (ds) => (await ds.runMigrations({ transaction: 'each' })).map((m) => m.name));
}

/**
 * Takes back the last migration applied (its down()), under the same lock: the way back to an older release
 * (docs/operations.md). Returns its name, or null when none was applied.
 */
export async function revertLastMigration(url: string): Promise<string | null> {
  return underMigrationLock(url, async (ds) => {
    const [last] = await ds.query<Array<{ name: string }>>(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`);
    if (!last) return null;
    await ds.undoLastMigration({ transaction: 'each' });
    return last.name;
  });
}

async function underMigrationLock<T>(url: string, work: (ds: DataSource) => Promise<T>): Promise<T> {
  const done = await withJobLock(
    url,
    MIGRATION_LOCK_KEY,
    'migrations',
    async () => {
      const ds = new DataSource({ ...dataSourceOptions(url, 2), logging: false });
      await ds.initialize();
      try {
        return { value: await work(ds) };
      } finally {
        await ds.destroy();
      }
    },
    { wait: true },
  );
  assert(done, 'a waiting lock is always taken');
  return done.value;
}

export async function pendingMigrationCount(ds: DataSource): Promise<number> {
  const rows: Array<{ name: string }> = await ds
    .query<Array<{ name: string }>>(`SELECT name FROM migrations`)
    .catch(() => [] as Array<{ name: string }>);
  const done = new Set(rows.map((r) => r.name));
  return MIGRATIONS.filter((m) => !done.has(m.name)).length;
}
