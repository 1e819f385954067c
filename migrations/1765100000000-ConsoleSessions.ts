import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sessions of the browser console (docs/console.md): an operator pastes an API key once and gets a short-lived
 * session instead, held in an HttpOnly cookie. Only the SHA-256 of the session id is stored, never the id or the
 * key; a session lasts while its key is live, at most until `max_expires_at`, and ends after `expires_at`
 * unless used (each use moves `expires_at` forward, never past `max_expires_at`).
 */
export class ConsoleSessions1765100000000 implements MigrationInterface {
  name = 'ConsoleSessions1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE TABLE console_sessions (
  id_hash        bytea PRIMARY KEY CHECK (octet_length(id_hash) = 32),
  api_key_id     uuid NOT NULL REFERENCES api_keys(id),
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at     timestamptz NOT NULL,
  max_expires_at timestamptz NOT NULL,
  -- Signed out: the session is refused from then on, whatever its expiry says.
  ended_at       timestamptz,
  CHECK (expires_at <= max_expires_at)
);
-- Expired rows are purged in small batches at each sign-in.
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS console_sessions`);
  }
}
