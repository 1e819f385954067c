import { DataSource, DataSourceOptions } from 'typeorm';
import { Client, ClientConfig } from 'pg';
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
    extra: { max: poolSize, connectionTimeoutMillis: 10_000, application_name: 'card-ledger', Client: PooledClient },
  };
}

/** Any number 64-bit value that identifies "the migration lock" across instances. */
const MIGRATION_LOCK_KEY = 7_310_412_001;

/**
 * Applies pending migrations once, even when several instances start at the same moment:
 * a session advisory lock makes the others wait, and then find nothing to do.
 */
export async function runMigrations(url: string): Promise<string[]> {
  const lock = new Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const ds = new DataSource({ ...dataSourceOptions(url, 2), logging: false });
    await ds.initialize();
    try {
      const applied = await ds.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await ds.destroy();
    }
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.end();
  }
}

export async function pendingMigrationCount(ds: DataSource): Promise<number> {
  const rows: Array<{ name: string }> = await ds
    .query<Array<{ name: string }>>(`SELECT name FROM migrations`)
    .catch(() => [] as Array<{ name: string }>);
  const done = new Set(rows.map((r) => r.name));
  return MIGRATIONS.filter((m) => !done.has(m.name)).length;
}
