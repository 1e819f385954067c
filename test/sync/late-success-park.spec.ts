import { SettlementService } from '../../src/sync/settlement.service';
import { SyncJobsStore } from '../../src/sync/sync-jobs.store';
import { useTestApp } from '../support/app';
import { staleAndCurrentClaims } from './sync-harness';

/**
 * A send timed out, EnKash's late success answer arrived while the claim still held the job, and then the claim ran
 * out of budget and moved the load to review. The late answer wakes only a job that is parked already, so the park
 * itself must keep a job that holds that proof due: its next claim posts the load (docs/design.md, "Lookups").
 */
describe('a late success that lands before the park', () => {
  const ctx = useTestApp({ env: { ROLE: 'api' } }); // no worker of its own: the test is the only claimer

  it('should leave the job due with its proof, so that the next claim posts the load', async () => {
    const jobs = ctx.app.app.get(SyncJobsStore);
    const { current } = await staleAndCurrentClaims(ctx.app, 'EKCLATEP0', 1);
    const [job] = current;
    const answer = { type: 'enkash_send' as const, outcome: 'succeeded', httpStatus: 200, code: '0', message: 'ok', durationMs: 450 };
    await jobs.recordLateAnswer(job.reference, answer, true);
    const timeout = { type: 'enkash_send' as const, outcome: 'unknown', httpStatus: null, code: null, message: 'timeout', durationMs: 400 };
    expect(await ctx.app.app.get(SettlementService).markNeedsReview(job, 'worker-a', 'retry budget exhausted', timeout, 150)).toBe(true);
    expect((await ctx.app.api('GET', `/v1/card-loads/${job.loadId}`)).body.status).toBe('needs_review');
    const next = await jobs.claim('worker-b', 10, 60_000, 0, 0);
    expect(next.map((j) => [j.loadId, j.lateSuccess])).toEqual([[job.loadId, true]]);
  });
});
