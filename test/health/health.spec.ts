import { WorkerHeartbeat } from '../../src/health/worker-heartbeat';
import { useTestApp } from '../support/app';

describe('health probes', () => {
  const ctx = useTestApp({ db: false });

  it('should answer live and ready without a key', async () => {
    expect((await ctx.app.api('GET', '/health/live', { key: null })).body).toEqual({ status: 'ok' });
    const ready = await ctx.app.api('GET', '/health/ready', { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ok',
      checks: {
        database: 'ok',
        migrations: 'ok',
        worker: 'not running here',
        databaseIdentity: 'ok',
        replica: 'not configured',
        replicaLagMs: null,
      },
    });
  });

  it('should answer 503 naming the pending migration', async () => {
    // TypeORM answers [rows, count] to a DELETE ... RETURNING.
    const [[last]] = await ctx.app.ds.query(`DELETE FROM migrations WHERE id = (SELECT max(id) FROM migrations) RETURNING *`);
    try {
      const res = await ctx.app.api('GET', '/health/ready', { key: null });
      expect(res.status).toBe(503);
      expect(res.body.error).toEqual({
        code: 'service_unavailable',
        message: expect.stringContaining('"migrations":"pending"'),
        details: [{ field: 'migrations', message: 'pending' }],
      });
    } finally {
      await ctx.app.ds.query(`INSERT INTO migrations (id, timestamp, name) VALUES ($1, $2, $3)`, [last.id, last.timestamp, last.name]);
    }
  });

  it('should answer 503 when the worker that runs here stops beating', async () => {
    ctx.app.app.get(WorkerHeartbeat).enable(1);
    await new Promise((r) => setTimeout(r, 20));
    const res = await ctx.app.api('GET', '/health/ready', { key: null });
    expect(res.status).toBe(503);
    expect(res.body.error.details).toEqual([{ field: 'worker', message: 'stalled' }]);
    expect(JSON.parse(res.body.error.message.replace(/^not ready: /, ''))).toEqual({
      database: 'ok',
      migrations: 'ok',
      worker: 'stalled',
      databaseIdentity: 'ok',
      replica: 'not configured',
      replicaLagMs: null,
    });
  });
});
