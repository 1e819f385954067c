import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signed webhooks for billing systems: subscriptions per API key, a delivery outbox written in the
 * settlement transaction, and an append-only log of every HTTP attempt.
 */
export class Webhooks1764300000000 implements MigrationInterface {
  name = 'Webhooks1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE TABLE webhook_subscriptions (
  id                uuid PRIMARY KEY,
  api_key_id        uuid NOT NULL REFERENCES api_keys(id),
  url               text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
  events            text[] NOT NULL CHECK (cardinality(events) > 0
                      AND events <@ ARRAY['card_load.posted', 'card_load.reversed', 'card_load.needs_review']::text[]),
  -- Fixed at creation: an admin key's subscription sees every load, any other only the loads its key created.
  all_loads         boolean NOT NULL,
  -- AES-256-GCM of the signing secret: iv (12) | tag (16) | ciphertext; the subscription id is the AAD, so a
  -- ciphertext copied onto another row does not open. The secret itself is never stored.
  secret_ciphertext bytea NOT NULL CHECK (length(secret_ciphertext) > 28),
  -- Fingerprint of the encryption key, to tell "encrypted under another WEBHOOK_SECRET_KEY" from corruption.
  secret_key_id     text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at        timestamptz
);
-- A key's own list; an admin's list of all reads the whole table, which holds at most 25 rows per key.
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (api_key_id, created_at, id) WHERE deleted_at IS NULL;

-- One row per (event, subscription). seq orders the events of one load: every state change locks the load
-- row, so for a given load seq follows commit order.
CREATE TABLE webhook_deliveries (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq               bigserial NOT NULL,
  subscription_id   uuid NOT NULL REFERENCES webhook_subscriptions(id),
  load_id           uuid NOT NULL REFERENCES card_loads(id),
  event             text NOT NULL CHECK (event IN ('card_load.posted', 'card_load.reversed', 'card_load.needs_review')),
  -- The load document as it stood when the event happened: a late retry never describes a later state.
  data              json NOT NULL,
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts          int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  due_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Retries stop (status failed) once this is older than WEBHOOK_MAX_AGE_MS; a manual redelivery restarts it.
  budget_started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_http_status  int,
  last_error        text,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  delivered_at      timestamptz,
  failed_at         timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE status = 'pending';
-- The ordering check: is an earlier event of this subscription and load still undelivered?
CREATE INDEX webhook_deliveries_load_order ON webhook_deliveries (subscription_id, load_id, seq);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, seq DESC);

CREATE TABLE webhook_attempts (
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id),
  id          bigserial NOT NULL,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  status      text NOT NULL CHECK (status IN ('succeeded', 'http_error', 'timeout', 'network_error', 'not_sent')),
  http_status int,
  duration_ms int NOT NULL CHECK (duration_ms >= 0),
  error       text,
  PRIMARY KEY (delivery_id, id)
);
CREATE TRIGGER webhook_attempts_append_only BEFORE UPDATE OR DELETE ON webhook_attempts
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER webhook_attempts_no_truncate BEFORE TRUNCATE ON webhook_attempts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS webhook_attempts, webhook_deliveries, webhook_subscriptions CASCADE;`);
  }
}
