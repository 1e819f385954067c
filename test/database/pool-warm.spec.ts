import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source';
import { createTestDatabase } from '../support/db';

/**
 * The pool keeps a connection it does not use for minutes, not pg-pool's default 10 s (docs/operations.md, "Connections
 * kept warm"): a read after a pause runs on the backend that served the last one, whose caches are warm.
 */
describe('the pool keeps its connections warm', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await new DataSource(dataSourceOptions(db.url, 1)).initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('should serve a query after 11 s unused on the same backend as the one before', async () => {
    const pid = async () => (await ds.query<Array<{ pid: number }>>(`SELECT pg_backend_pid() AS pid`))[0].pid;
    const before = await pid();
    await new Promise((r) => setTimeout(r, 11_000));
    expect(await pid()).toBe(before);
  }, 30_000);
});
