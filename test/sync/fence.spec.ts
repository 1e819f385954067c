import { SyncJobsStore } from '../../src/sync/sync-jobs.store';
import { useTestApp } from '../support/app';
import { staleAndCurrentClaims } from './sync-harness';

/**
 * The fence before every EnKash exchange (docs/design.md, "Leases and fences"), now one statement for every
 * exchange a worker is about to start: each fence in a batch must still be judged by its own claim's token.
 */
describe('the fence before every exchange', () => {
  const ctx = useTestApp({ env: { ROLE: 'api' } }); // no worker of its own: the test is the only claimer

  it('should hold for the current claim of each job and refuse every earlier one, fenced together in one batch', async () => {
    const jobs = ctx.app.app.get(SyncJobsStore);
    // The same worker claims twice: the first claims' leases (1 ms) lapse, the second claims get new tokens.
    const { stale, current } = await staleAndCurrentClaims(ctx.app, 'EKCFENCE0', 4);
    expect(current.map((j) => j.loadId).sort()).toEqual(stale.map((j) => j.loadId).sort());
    expect(stale).toHaveLength(4);
    // Sends and lookups, stale and current, all at once: after the first alone, the rest share one statement.
    const send = { lookupGraceMs: 1_000 };
    const fenced = await Promise.all([...stale, ...current].map((job, i) => jobs.fence(job, 'worker-a', 60_000, i % 2 ? send : null)));
    expect(fenced.map((f) => f.held)).toEqual([false, false, false, false, true, true, true, true]);
    expect(fenced.map((f) => f.gate)).toEqual(Array(8).fill('open'));
    // Another worker's fence never holds a job it does not own, whatever token it shows.
    expect(await jobs.fence(current[0], 'worker-b', 60_000, send)).toEqual({ held: false, gate: 'open' });
  });
});
