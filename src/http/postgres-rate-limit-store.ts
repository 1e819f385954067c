import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { LRUCache } from 'lru-cache';
import { DataSource } from 'typeorm';
import { GroupCommit, Outcome } from '../common/group-commit';

type Incremented = { current: number; ttl: number };
/** One request's hit, with the limit of its route (@fastify/rate-limit passes it with each hit). */
type Hit = { bucket: string; max: number };
/**
 * Counts of the current window taken from the shared row and not handed out yet, `next`..`last`, until `endsMono`, for
 * hits under limit `max`; `last` Infinity: the window is full, every hit is refused here until it ends.
 */
type Counts = { next: number; last: number; endsMono: number; max: number };

/** Bound on one counter write: a flood of distinct buckets still costs one statement per this many hits. */
const MAX_HITS_PER_WRITE = 1000;
/** Buckets whose taken counts an instance keeps: the busiest callers (an API key, or an address before it has one). */
const KEPT_BUCKETS = 10_000;

/**
 * How many counts an instance takes from the shared row at a time: a hundredth of the limit, so that a busy key costs
 * one write per hundredth of its minute instead of one per request, and 1 below 200 a minute.
 */
export const countsTakenAtOnce = (max: number) => Math.max(1, Math.floor(max / 100));

/**
 * The counts a write takes beyond its waiting hits (a bucket's hits share their route's limit): only for an API key's
 * bucket. An address's (a request without a valid key) takes none: a flood from many addresses would otherwise take
 * a hundredth of the limit for each, and crowd the busy keys out of the instance's memory of its counts.
 */
const aheadFor = (hits: Hit[]) =>
  Number.isFinite(hits[0].max) && hits[0].bucket.startsWith('key:') ? countsTakenAtOnce(hits[0].max) - 1 : 0;

/** The row's count stops here: never past the column's range (the limit is at most 10^9, so a capped row is full). */
const COUNT_CAP = 2_147_483_647;

/**
 * @fastify/rate-limit store that counts in Postgres, so every instance shares one count per caller.
 * Fixed windows aligned on the epoch in DB time (no clock skew between instances). Hits arriving while a
 * write is in flight are group-committed: one upsert adds them all and each gets its own exact position
 * in the count, so a busy key costs one statement per round trip instead of one per request, and its
 * row lock is taken once. Past windows are purged at most once per window per instance.
 *
 * An instance also takes counts ahead (countsTakenAtOnce): the upsert adds them to the row too, and the instance hands
 * them out to its next requests of that key without a write. Every count of a window is handed out once, by one
 * instance, and a request is admitted only with a count at most the limit: the instances together never admit more
 * than the limit. They may refuse earlier, by the counts other instances took and have not handed out (at most a
 * hundredth of the limit each). Once a write shows the window full, the instance refuses that key until the window
 * ends without writing (docs/hostile-input.md, "Rate limits").
 */
export function postgresRateLimitStore(ds: DataSource): FastifyRateLimitStoreCtor {
  class PostgresRateLimitStore implements FastifyRateLimitStore {
    private readonly windowMs: number;
    private readonly group: GroupCommit<Hit, Incremented>;
    private readonly taken = new LRUCache<string, Counts>({ max: KEPT_BUCKETS });
    private lastPurgeMs = 0;

    constructor(params: { timeWindow?: unknown }) {
      this.windowMs = typeof params.timeWindow === 'number' && params.timeWindow > 0 ? params.timeWindow : 60_000;
      this.group = new GroupCommit('rate-limit', (hits) => this.write(hits), MAX_HITS_PER_WRITE);
    }

    incr(key: string, callback: (error: Error | null, result?: Incremented) => void, _timeWindow?: number, max = Infinity): void {
      const bucket = key.slice(0, 200);
      const local = this.handOut(bucket, max);
      if (local) {
        callback(null, local);
        return;
      }
      this.group.submit({ bucket, max }).then(
        (r) => callback(null, r),
        (e: Error) => callback(e),
      );
    }

    /** The next count this instance took for `bucket` under limit `max` in the current window, if it holds one. */
    private handOut(bucket: string, max: number): Incremented | null {
      const counts = this.taken.get(bucket);
      const now = performance.now();
      if (!counts || counts.max !== max || counts.next > counts.last || now >= counts.endsMono) return null;
      return { current: counts.next++, ttl: Math.max(1, Math.ceil(counts.endsMono - now)) };
    }

    /**
     * Per-route limits (none are configured today) get their own window length. They would share the key's row with
     * the global limit, and the global store's counts taken ahead would count against them: give a route limit its own
     * bucket names before configuring one.
     */
    child(routeOptions: object): FastifyRateLimitStore {
      return new PostgresRateLimitStore(routeOptions);
    }

    private async write(hits: Hit[]): Promise<Map<Hit, Outcome<Incremented>>> {
      const results = new Map<Hit, Outcome<Incremented>>();
      const byBucket = new Map<string, Hit[]>();
      for (const h of hits) {
        // Counts the last write took while these hits waited for it are handed out first: none is left unused.
        const local = this.handOut(h.bucket, h.max);
        if (local) results.set(h, { ok: true, value: local });
        else byBucket.set(h.bucket, [...(byBucket.get(h.bucket) ?? []), h]);
      }
      if (byBucket.size === 0) return results;
      // Sorted, so that two instances writing overlapping buckets lock their rows in one order (no deadlock).
      const buckets = [...byBucket.keys()].sort();
      // The window's end as this instance's clock may put it: no later than the database's (its ttl is read after this).
      const sentMono = performance.now();
      const rows: Array<{ bucket: string; hits: number; ttl_ms: number }> = await ds.query(
        `INSERT INTO rate_limit_hits AS r (bucket, window_start, hits)
         SELECT u.bucket, date_bin($3 * interval '1 millisecond', clock_timestamp(), timestamptz 'epoch'), u.n
         FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS u(bucket, n, i) ORDER BY u.i
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = least(r.hits::bigint + EXCLUDED.hits, $4)::int
         RETURNING r.bucket, r.hits,
           extract(epoch FROM r.window_start + $3 * interval '1 millisecond' - clock_timestamp()) * 1000 AS ttl_ms`,
        [buckets, buckets.map((b) => byBucket.get(b)!.length + aheadFor(byBucket.get(b)!)), this.windowMs, COUNT_CAP],
      );
      this.purgeNowAndThen();
      for (const row of rows) {
        const mine = byBucket.get(row.bucket)!;
        // Never a zero Retry-After: a caller told "0" would retry at once, into the same full window.
        const ttl = Math.max(1, Math.ceil(Number(row.ttl_ms)));
        // This write took counts first..row.hits of the window: the waiting hits get the first ones, in order.
        const first = row.hits - mine.length - aheadFor(mine) + 1;
        mine.forEach((h, i) => results.set(h, { ok: true, value: { current: first + i, ttl } }));
        const next = first + mine.length;
        const max = mine[0].max;
        // The rest are handed out here until the window ends. Once the row is full, every later hit of the window is
        // refused here without a write (the counts up to the limit still go first, in order). A bucket with neither
        // is not kept: the memory of counts holds only buckets that have some.
        if (row.hits >= max) this.taken.set(row.bucket, { next, last: Infinity, endsMono: sentMono + ttl, max });
        else if (next <= row.hits) this.taken.set(row.bucket, { next, last: row.hits, endsMono: sentMono + ttl, max });
        else this.taken.delete(row.bucket);
      }
      return results;
    }

    private purgeNowAndThen(): void {
      const now = Date.now();
      if (now - this.lastPurgeMs < this.windowMs) return;
      this.lastPurgeMs = now;
      // Losing a purge costs only a few stale rows, which the next one removes.
      void ds
        .query(`DELETE FROM rate_limit_hits WHERE window_start < clock_timestamp() - 2 * $1 * interval '1 millisecond'`, [this.windowMs])
        .catch(() => undefined);
    }
  }
  return PostgresRateLimitStore;
}
