import { DataSource } from 'typeorm';
import { inTransaction } from '../../src/database/transaction';
import { AttemptRecord, SyncJobsStore } from '../../src/sync/sync-jobs.store';
import { useTestApp } from '../support/app';
import { staleAndCurrentClaims } from './sync-harness';

/**
 * A lookup that found nothing is recorded before its send, only while the claim still holds its job; the worker
 * writes the lookups answered meanwhile together (docs/design.md, "Lookups"). Each must still be judged by its own
 * claim's token, and only the held ones written.
 */
describe('lookups recorded before their sends, together', () => {
  const ctx = useTestApp({ env: { ROLE: 'api' } }); // no worker of its own: the test is the only claimer

  const lookup: AttemptRecord = { type: 'enkash_lookup', outcome: 'not_found', httpStatus: 200, code: '0', message: null, durationMs: 5 };

  it('should record the attempt of each claim that holds its job, and nothing for a lapsed or foreign one', async () => {
    const jobs = ctx.app.app.get(SyncJobsStore);
    // Claims whose leases (1 ms) lapse, then the same worker's new claims of the same jobs.
    const claims = await staleAndCurrentClaims(ctx.app, 'EKCHELDS0', 3);
    const { stale } = claims;
    const current = claims.current.sort((a, b) => a.loadId.localeCompare(b.loadId));
    expect(stale).toHaveLength(3);
    expect(current).toHaveLength(3);
    const items = [
      { job: current[2], owner: 'worker-a', attempt: lookup },
      { job: stale.find((j) => j.loadId === current[2].loadId)!, owner: 'worker-a', attempt: lookup },
      { job: current[0], owner: 'worker-b', attempt: lookup }, // another worker, the right token
      { job: current[1], owner: 'worker-a', attempt: lookup },
    ];
    const held = await inTransaction(ctx.app.app.get(DataSource), (m) => jobs.recordHeldAttempts(m, items));
    expect(held).toEqual([true, false, false, true]);
    const rows: Array<{ id: string; attempts: number; lookups: number }> = await ctx.db
      .query(
        `SELECT l.id, l.attempts, (SELECT count(*)::int FROM load_events e WHERE e.load_id = l.id AND e.type = 'enkash_lookup') AS lookups
         FROM card_loads l WHERE l.id = ANY($1::uuid[])`,
        [current.map((j) => j.loadId)],
      )
      .then((r) => r.rows);
    const of = (id: string) => rows.find((r) => r.id === id)!;
    expect(of(current[0].loadId)).toMatchObject({ attempts: 0, lookups: 0 });
    expect(of(current[1].loadId)).toMatchObject({ attempts: 1, lookups: 1 });
    expect(of(current[2].loadId)).toMatchObject({ attempts: 1, lookups: 1 });
  });
});
