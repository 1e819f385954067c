import { DataSource, DataSourceOptions } from 'typeorm';
import { Client } from 'pg';
import { MIGRATIONS } from './migrations';

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
    extra: { max: poolSize, connectionTimeoutMillis: 10_000, application_name: 'card-ledger' },
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
    .query(`SELECT name FROM migrations`)
    .catch(() => [] as Array<{ name: string }>);
  const done = new Set(rows.map((r) => r.name));
  return MIGRATIONS.filter((m) => !done.has(m.name)).length;
}
