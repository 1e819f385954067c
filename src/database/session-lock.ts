import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { assert } from '../common/assert';

const logger = new Logger('SessionLock');

/**
 * Runs `work` while a session holds the advisory lock `key` and returns what it returns, or returns null at once
 * when another session holds it (one instance at a time runs a scheduled job). The session is a dedicated one, not
 * a pooled one: ending it is the release, whatever state it is in, and no pooled connection goes back to the pool
 * still holding the lock. A dropped session drops the lock too; `work`'s own queries go through the pool and fail
 * on their own. `name` tells the session apart in pg_stat_activity and the log.
 */
export async function withSessionLock<T>(ds: DataSource, key: number, name: string, work: () => Promise<T>): Promise<T | null> {
  const url = (ds.options as PostgresConnectionOptions).url;
  assert(url, 'the data source is configured by URL');
  const session = new Client({ connectionString: url, application_name: `card-ledger-${name}` });
  session.on('error', (e) => logger.warn(`${name} lock session lost: ${e.message}`));
  await session.connect();
  try {
    const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key]);
    return rows[0].locked ? await work() : null;
  } finally {
    await session.end().catch(() => undefined);
  }
}
