import { ForkMarkedOnce1765320000000 } from '../../migrations/1765320000000-ForkMarkedOnce';
import { revertLastMigration, runMigrations } from '../../src/database/data-source';
import { DatabaseIdentityService } from '../../src/database/database-identity.service';
import { ClaimedJob, SyncJobsStore } from '../../src/sync/sync-jobs.store';
import { startTestApp, useTestApp } from '../support/app';
import { createTestDatabase, sql } from '../support/db';

/**
 * A fork is marked once on the identity row and read by each job's next claim (docs/design.md, "A database that is a
 * copy"): handling it writes no job, however many are open, and a job made before it is lookup-first at its next
 * claim, not before the fork's moment, whoever wrote the job in between. The fork-safety spec shows the same end to
 * end through a worker and the simulator; here the test is the only claimer (ROLE=api runs no worker).
 */
describe('a fork, marked once', () => {
  const ctx = useTestApp({ env: { ROLE: 'api' } });
  const jobs = () => ctx.app.app.get(SyncJobsStore);
  const identity = () => ctx.app.app.get(DatabaseIdentityService);
  /** The fork window (defaults): SYNC_LEASE_MS + SYNC_LOOKUP_GRACE_MS. */
  const windowMs = () => ctx.app.config.sync.leaseMs + ctx.app.config.sync.lookupGraceMs;
  let n = 0;

  async function loads(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const made = await ctx.app.api('POST', '/v1/card-loads', {
        body: { enKashCardId: 'EKCMARK001', amount: '1.00' },
        headers: { 'idempotency-key': `mark-${++n}` },
      });
      expect(made.status).toBe(201);
      ids.push(made.body.id);
    }
    return ids;
  }

  /** A start after an hour with no live worker: handled as a fork of kind silence. */
  async function forkBySilence() {
    await ctx.db.query(`UPDATE database_identity SET alive_at = clock_timestamp() - interval '1 hour'`);
    const report = await identity().check('start');
    expect(report?.kind).toBe('silence');
    return report!;
  }

  /** Every job's claim, and none other, so the tests do not see each other's jobs. */
  async function claimAll(owner: string, ids: string[], leaseMs = 60_000): Promise<Map<string, ClaimedJob>> {
    const claimed = await jobs().claim(owner, 1000, leaseMs, 150, 0);
    for (const j of claimed.filter((c) => !ids.includes(c.loadId))) await jobs().release(j, owner);
    return new Map(claimed.filter((c) => ids.includes(c.loadId)).map((c) => [c.loadId, c]));
  }

  async function releaseAll(claims: Map<string, ClaimedJob>, owner: string) {
    for (const j of claims.values()) await jobs().release(j, owner);
  }

  it('should write no job when it handles a fork, and make each job made before it lookup-first at its next claim', async () => {
    const before = await loads(6);
    const rows = async () =>
      (await ctx.db.query(`SELECT load_id, xmin::text AS version FROM sync_jobs WHERE load_id = ANY($1) ORDER BY 1`, [before])).rows;
    const versions = await rows();

    const report = await forkBySilence();
    expect(report.openJobs).toBeGreaterThanOrEqual(6);
    expect(await rows()).toEqual(versions); // not one open job rewritten

    const [after] = await loads(1);
    const claims = await claimAll('w-mark', [...before, after]);
    expect(claims.size).toBe(7);
    for (const id of before) {
      const j = claims.get(id)!;
      expect(j.wasNeedsLookup).toBe(true);
      expect(j.lookupReady).toBe(false);
      expect(j.lookupAfterMs).toBeGreaterThan(windowMs() - 10_000);
    }
    // Made after the fork: never at the other copy, sent at once as always.
    expect(claims.get(after)).toMatchObject({ wasNeedsLookup: false, lookupReady: true });
    await releaseAll(claims, 'w-mark');
  });

  it('should keep a job lookup-first when a claim from before the fork writes after it', async () => {
    const [resched, released] = await loads(2);
    const first = await claimAll('w-late', [resched, released]);
    expect([...first.values()].every((j) => !j.wasNeedsLookup)).toBe(true);

    await forkBySilence();
    // The claims from before the fork end after it: one as if it had learnt nothing needs a lookup (its write
    // clears needs_lookup), one given back untouched. Neither took the fork's mark: both stay lookup-first.
    const wrote = await ctx.app.ds.transaction((m) =>
      jobs().reschedule(
        m,
        first.get(resched)!,
        'w-late',
        { delayMs: 0, needsLookup: false, lookupGraceMs: null, unknownSeen: false, pendingRejection: null, countAttempt: false },
        null,
      ),
    );
    expect(wrote).toBe(true);
    await jobs().release(first.get(released)!, 'w-late');
    expect((await ctx.db.query(`SELECT needs_lookup FROM sync_jobs WHERE load_id = $1`, [resched])).rows[0].needs_lookup).toBe(false);

    const again = await claimAll('w-late', [resched, released]);
    for (const j of again.values()) {
      expect(j.wasNeedsLookup).toBe(true);
      expect(j.lookupAfterMs).toBeGreaterThan(windowMs() - 10_000);
    }
    await releaseAll(again, 'w-late');
  });

  it("should count a fork's moment as a send that may still land, for an operator's reversal of a parked load", async () => {
    // The earlier tests' fork window is over.
    await ctx.db.query(`UPDATE database_identity SET fork_lookup_after = clock_timestamp() - interval '1 second'`);
    const [id] = await loads(1);
    // Claimed with a 1 ms lease and a 150 ms grace, then parked: after those, no send of ours may land any more.
    const claim = (await claimAll('w-park', [id], 1)).get(id)!;
    expect(await ctx.app.ds.transaction((m) => jobs().park(m, claim, 'w-park', 'needs review', null))).toBe(true);
    await new Promise((r) => setTimeout(r, 250));
    const held = async () => (await ctx.app.ds.transaction((m) => jobs().lockJobs(m, [id]))).get(id)!;
    expect(await held()).toMatchObject({ parked: true, sendMayLandForMs: 0 });

    await forkBySilence();
    expect((await held()).sendMayLandForMs).toBeGreaterThan(windowMs() - 10_000);
  });

  it('should refuse the send and the lookup of a claim taken before the fork was handled', async () => {
    const [id] = await loads(1);
    // A worker claims while the fork is not handled yet (its claim loop does not read the identity), as in a failover.
    const job = (await claimAll('w-early', [id])).get(id)!;
    expect(job.wasNeedsLookup).toBe(false);
    await forkBySilence();
    expect(await jobs().fence(job, 'w-early', 60_000, { lookupGraceMs: 150 })).toEqual({ held: false, gate: 'forked' });
    // Nor a lookup: its claim's lookupReady did not wait for the fork's moment, and a lookup inside the fork's window
    // may miss the other copy's send (a load holding a confirmable rejection would then be reversed).
    expect(await jobs().fence(job, 'w-early', 60_000, null)).toEqual({ held: false, gate: 'forked' });
    // Given back, as the worker does on 'forked': the next claim looks it up first, after the fork's moment.
    await jobs().release(job, 'w-early');
    const again = (await claimAll('w-early', [id])).get(id)!;
    expect(again).toMatchObject({ wasNeedsLookup: true, lookupReady: false });
    expect(await jobs().fence(again, 'w-early', 60_000, { lookupGraceMs: 150 })).toEqual({ held: true, gate: 'open' });
    await jobs().release(again, 'w-early');
  });

  it('should refuse the claim of an older release, which does not read the mark, of a job open at the fork', async () => {
    const [open] = await loads(1);
    await forkBySilence();
    const [made] = await loads(1);
    // The claim of the releases before migration 1765320000000 (a rolling deploy, or the code alone rolled back).
    const olderClaim = (id: string) =>
      ctx.db.query(
        `WITH due AS (SELECT j.load_id, j.needs_lookup AS was_lookup FROM sync_jobs j WHERE j.load_id = $1 FOR UPDATE SKIP LOCKED)
         UPDATE sync_jobs j SET lease_owner = 'older-release', lease_expires_at = clock_timestamp() + interval '1 minute',
           claim_token = nextval('sync_claim_tokens'), needs_lookup = true,
           lookup_after = CASE WHEN due.was_lookup THEN j.lookup_after ELSE clock_timestamp() + interval '1 minute' END,
           updated_at = clock_timestamp()
         FROM due WHERE j.load_id = due.load_id RETURNING due.was_lookup`,
        [id],
      );
    await expect(olderClaim(open)).rejects.toMatchObject({ code: '55000', message: expect.stringMatching(/open at a fork/) });
    // A job made after the fork was never at the other copy: any release may claim it.
    expect((await olderClaim(made)).rows).toEqual([{ was_lookup: false }]);
    await ctx.db.query(`UPDATE sync_jobs SET lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL WHERE load_id = $1`, [made]);
  });

  it("should give an older release's reversal check the fork's moment, through settlement_lock", async () => {
    const [id] = await loads(1);
    await forkBySilence();
    // What an older API instance reads before an operator's reversal: lookup_after, straight from settlement_lock.
    const [row] = await ctx.app.ds.transaction((m) =>
      m.query<Array<{ lookup_after: Date; fork: Date }>>(
        `SELECT lookup_after, (SELECT fork_lookup_after FROM database_identity) AS fork FROM settlement_lock(ARRAY[$1]::uuid[])`,
        [id],
      ),
    );
    expect(row.lookup_after).toEqual(row.fork);
    expect(row.fork.getTime()).toBeGreaterThan(Date.now() + windowMs() - 10_000);
  });

  it('should write the mark into every job below it when the migration is reverted, for the release it goes back to', async () => {
    const db = await createTestDatabase();
    const app = await startTestApp({ ROLE: 'api' }, db.url);
    const c = await sql(db.url);
    try {
      const made = [];
      for (let i = 0; i < 2; i++) {
        const res = await app.api('POST', '/v1/card-loads', {
          body: { enKashCardId: 'EKCMARK002', amount: '1.00' },
          headers: { 'idempotency-key': `mark-down-${i}` },
        });
        made.push(res.body.id);
      }
      await c.query(`UPDATE database_identity SET alive_at = clock_timestamp() - interval '1 hour'`);
      expect((await app.app.get(DatabaseIdentityService).check('start'))?.kind).toBe('silence');
      const [{ fork }] = (await c.query(`SELECT fork_lookup_after AS fork FROM database_identity`)).rows;
      await app.close();
      const updates = async () => {
        await c.query(`SELECT pg_stat_clear_snapshot()`);
        return Number((await c.query(`SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'sync_jobs'`)).rows[0].n_tup_upd);
      };
      const before = await updates();
      // Beside a reader of the whole outbox that holds it 300 ms at a time (the lag gauge on a big ledger): the DDL's
      // lock waits time out and are tried again, and must not write the jobs again each time.
      const reader = await sql(db.url);
      let reading = true;
      const reads = (async () => {
        while (reading) await reader.query(`SELECT count(*), pg_sleep(0.3) FROM sync_jobs`);
      })();

      // npm run migration:revert, down to this migration (and any after it).
      let reverted: string | null;
      try {
        do reverted = await revertLastMigration(db.url);
        while (reverted && reverted !== new ForkMarkedOnce1765320000000().name);
      } finally {
        reading = false;
        await reads;
        await reader.end();
      }
      expect(reverted).toBe('ForkMarkedOnce1765320000000');
      await new Promise((r) => setTimeout(r, 700)); // statistics reach the view at most every 500 ms
      expect((await updates()) - before).toBe(made.length);
      const rows = (await c.query(`SELECT needs_lookup, lookup_after FROM sync_jobs WHERE load_id = ANY($1)`, [made])).rows;
      expect(rows).toEqual([
        { needs_lookup: true, lookup_after: fork },
        { needs_lookup: true, lookup_after: fork },
      ]);
      expect(await runMigrations(db.url)).toContain('ForkMarkedOnce1765320000000');
    } finally {
      await c.end();
      await db.drop();
    }
  });

  it('should make every job claimed after the fork is recorded lookup-first, with two claimers running through it', async () => {
    const ids = await loads(40);
    await ctx.db.query(`UPDATE database_identity SET alive_at = clock_timestamp() - interval '1 hour'`);
    let forkDoneAt = Infinity;
    const seen: Array<{ owner: string; startedAt: number; job: ClaimedJob }> = [];
    let stop = false;
    // Each claimer keeps what it claims (so a job is claimed once), one job at a time with a pause, so that the
    // claims run before, during and after the fork's transaction. A claim reports the job's state before it.
    const claimer = async (owner: string) => {
      while (!stop) {
        const startedAt = performance.now();
        for (const job of await jobs().claim(owner, 1, 60_000, 150, 0)) seen.push({ owner, startedAt, job });
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const claimers = [claimer('w-race-a'), claimer('w-race-b')];
    const claimedOfOurs = () => seen.filter((s) => ids.includes(s.job.loadId)).length;
    for (const until = Date.now() + 10_000; claimedOfOurs() < 3 && Date.now() < until;) await new Promise((r) => setTimeout(r, 1));
    const report = await identity().check('start');
    forkDoneAt = performance.now();
    expect(report?.kind).toBe('silence');
    const claimedOnce = () => ids.every((id) => seen.some((s) => s.job.loadId === id));
    for (const until = Date.now() + 20_000; !claimedOnce() && Date.now() < until;) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    await Promise.all(claimers);

    const ours = seen.filter((s) => ids.includes(s.job.loadId));
    expect(new Set(ours.map((s) => s.job.loadId)).size).toBe(40);
    expect(ours).toHaveLength(40); // each claimed once: no job went to both claimers
    expect(ours.filter((s) => s.startedAt < forkDoneAt).length).toBeGreaterThan(0);
    const afterFork = ours.filter((s) => s.startedAt > forkDoneAt);
    expect(afterFork.length).toBeGreaterThan(0);
    for (const { job } of afterFork) {
      expect(job.wasNeedsLookup).toBe(true);
      expect(job.lookupAfterMs).toBeGreaterThan(windowMs() - 10_000);
    }
    for (const { owner, job } of seen) await jobs().release(job, owner);
  });
});
