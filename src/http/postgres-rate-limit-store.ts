import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { DataSource } from 'typeorm';

type Incremented = { current: number; ttl: number };

/**
 * @fastify/rate-limit store that counts in Postgres, so every instance shares one count per caller.
 * Fixed windows aligned on the epoch in DB time (no app clock skew between instances); one atomic
 * upsert per request. Past windows are purged at most once per window per instance, off the request path.
 */
export function postgresRateLimitStore(ds: DataSource): FastifyRateLimitStoreCtor {
  class PostgresRateLimitStore implements FastifyRateLimitStore {
    private readonly windowMs: number;
    private lastPurgeMs = 0;

    constructor(params: { timeWindow?: unknown }) {
      this.windowMs = typeof params.timeWindow === 'number' && params.timeWindow > 0 ? params.timeWindow : 60_000;
    }

    incr(key: string, callback: (error: Error | null, result?: Incremented) => void): void {
      this.hit(key).then((r) => callback(null, r), (e: Error) => callback(e));
    }

    /** Per-route limits (none are configured today) get their own window length. */
    child(routeOptions: object): FastifyRateLimitStore {
      return new PostgresRateLimitStore(routeOptions as { timeWindow?: unknown });
    }

    private async hit(bucket: string): Promise<Incremented> {
      const rows: Array<{ hits: number; ttl_ms: number }> = await ds.query(
        `INSERT INTO rate_limit_hits AS r (bucket, window_start, hits)
         VALUES ($1, date_bin($2 * interval '1 millisecond', clock_timestamp(), timestamptz 'epoch'), 1)
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = r.hits + 1
         RETURNING r.hits, extract(epoch FROM r.window_start + $2 * interval '1 millisecond' - clock_timestamp()) * 1000 AS ttl_ms`,
        [bucket.slice(0, 200), this.windowMs]);
      this.purgeNowAndThen();
      // Never a zero Retry-After: a caller told "0" would retry at once, into the same full window.
      return { current: rows[0].hits, ttl: Math.max(1, Math.ceil(Number(rows[0].ttl_ms))) };
    }

    private purgeNowAndThen(): void {
      const now = Date.now();
      if (now - this.lastPurgeMs < this.windowMs) return;
      this.lastPurgeMs = now;
      // Losing a purge costs only a few stale rows, which the next one removes.
      void ds.query(`DELETE FROM rate_limit_hits WHERE window_start < clock_timestamp() - 2 * $1 * interval '1 millisecond'`, [this.windowMs])
        .catch(() => undefined);
    }
  }
  return PostgresRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}
