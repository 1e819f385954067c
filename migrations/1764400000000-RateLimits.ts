import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-caller request counters for rate limiting, shared by every instance: one row per (bucket, fixed
 * window), bumped by one atomic upsert per request. Rows of past windows are useless after their window
 * ends and are purged by the app (no FK, no history: this is not ledger data). UNLOGGED: a counter
 * write per request should cost no WAL, and losing the counts in a crash or failover only resets limits.
 */
export class RateLimits1764400000000 implements MigrationInterface {
  name = 'RateLimits1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE UNLOGGED TABLE rate_limit_hits (
  -- 'key:<sha256 of the API key, base64>' or 'ip:<address>': never the key itself
  bucket text NOT NULL CHECK (length(bucket) BETWEEN 1 AND 200),
  window_start timestamptz NOT NULL,
  hits integer NOT NULL CHECK (hits > 0),
  CONSTRAINT rate_limit_hits_pkey PRIMARY KEY (bucket, window_start)
)`);
    await q.query(`CREATE INDEX rate_limit_hits_window_idx ON rate_limit_hits (window_start)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_limit_hits`);
  }
}
