import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { DataSource } from 'typeorm';
import { GroupCommit, Outcome } from '../common/group-commit';

type Incremented = { current: number; ttl: number };
type Hit = { bucket: string };

/** Bound on one counter write: a flood of distinct buckets still costs one statement per this many hits. */
const MAX_HITS_PER_WRITE = 1000;

/**
 * @fastify/rate-limit store that counts in Postgres, so every instance shares one count per caller.
 * Fixed windows aligned on the epoch in DB time (no clock skew between instances). Hits arriving while a
 * write is in flight are group-committed: one upsert adds them all and each gets its own exact position
 * in the count, so a busy key costs one statement per round trip instead of one per request, and its
 * row lock is taken once. Past windows are purged at most once per window per instance.
 */
export function postgresRateLimitStore(ds: DataSource): FastifyRateLimitStoreCtor {
  class PostgresRateLimitStore implements FastifyRateLimitStore {
    private readonly windowMs: number;
    private readonly group: GroupCommit<Hit, Incremented>;
    private lastPurgeMs = 0;

    constructor(params: { timeWindow?: unknown }) {
      this.windowMs = typeof params.timeWindow === 'number' && params.timeWindow > 0 ? params.timeWindow : 60_000;
      this.group = new GroupCommit('rate-limit', (hits) => this.write(hits), MAX_HITS_PER_WRITE);
    }

    incr(key: string, callback: (error: Error | null, result?: Incremented) => void): void {
      this.group.submit({ bucket: key.slice(0, 200) }).then(
        (r) => callback(null, r),
        (e: Error) => callback(e),
      );
    }

    /** Per-route limits (none are configured today) get their own window length. */
    child(routeOptions: object): FastifyRateLimitStore {
      return new PostgresRateLimitStore(routeOptions);
    }

    private async write(hits: Hit[]): Promise<Map<Hit, Outcome<Incremented>>> {
      const byBucket = new Map<string, Hit[]>();
      for (const h of hits) byBucket.set(h.bucket, [...(byBucket.get(h.bucket) ?? []), h]);
      // Sorted, so that two instances writing overlapping buckets lock their rows in one order (no deadlock).
      const buckets = [...byBucket.keys()].sort();
      const rows: Array<{ bucket: string; hits: number; ttl_ms: number }> = await ds.query(
        `INSERT INTO rate_limit_hits AS r (bucket, window_start, hits)
         SELECT u.bucket, date_bin($3 * interval '1 millisecond', clock_timestamp(), timestamptz 'epoch'), u.n
         FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS u(bucket, n, i) ORDER BY u.i
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = r.hits + EXCLUDED.hits
         RETURNING r.bucket, r.hits,
           extract(epoch FROM r.window_start + $3 * interval '1 millisecond' - clock_timestamp()) * 1000 AS ttl_ms`,
        [buckets, buckets.map((b) => byBucket.get(b)!.length), this.windowMs],
      );
      this.purgeNowAndThen();
      const results = new Map<Hit, Outcome<Incremented>>();
      for (const row of rows) {
        const mine = byBucket.get(row.bucket)!;
        // Never a zero Retry-After: a caller told "0" would retry at once, into the same full window.
        const ttl = Math.max(1, Math.ceil(Number(row.ttl_ms)));
        mine.forEach((h, i) => results.set(h, { ok: true, value: { current: row.hits - mine.length + i + 1, ttl } }));
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
