import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An anchor outside the database (docs/audit.md). Whoever owns the tables could rewrite a sealed transaction and
 * recompute every later seal: the chain had no key. Now:
 * - each seal carries a MAC (HMAC-SHA256 under AUDIT_SEAL_KEY, which the database never holds): a recomputed seal
 *   cannot carry a valid one, so the verifier names the first forged transaction; once keyed, unkeyed seals are refused;
 * - signed chain-head checkpoints (Ed25519, the public key published) are written outside the database and sent
 *   to `audit.checkpoint` webhook subscribers; this table keeps a copy so that every instance can list them;
 * - every verification's result is kept (for /v1/audit/verify/latest and /metrics).
 *
 * Works on a populated ledger: seals written before this have no MAC, and the first checkpoint anchors them.
 */
export class AuditAnchors1764810000000 implements MigrationInterface {
  name = 'AuditAnchors1764810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
ALTER TABLE journal_seals ADD COLUMN mac bytea CHECK (mac IS NULL OR octet_length(mac) = 32);
-- Once the chain is keyed, every seal carries a MAC: an instance of the previous release (no key) that wins the
-- sealer's lock during a rolling deploy is refused, and an instance of this release seals instead. Checked once per
-- statement, and only when a seal without a MAC comes.
CREATE FUNCTION journal_seals_keep_keyed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_seals WHERE mac IS NULL) AND (
       EXISTS (SELECT 1 FROM new_seals WHERE mac IS NOT NULL)
    OR EXISTS (SELECT 1 FROM journal_seals s WHERE s.seq = (SELECT min(seq) FROM new_seals) - 1 AND s.mac IS NOT NULL)) THEN
    RAISE EXCEPTION 'journal_seals: the chain is keyed, a seal without a MAC is refused (an instance without the audit key?)'
      USING ERRCODE = '23514', CONSTRAINT = 'journal_seals_keyed';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER journal_seals_keyed AFTER INSERT ON journal_seals REFERENCING NEW TABLE AS new_seals
  FOR EACH STATEMENT EXECUTE FUNCTION journal_seals_keep_keyed();

CREATE TABLE audit_checkpoints (
  seq            bigint PRIMARY KEY CHECK (seq >= 1),
  transaction_id uuid NOT NULL,
  hash           bytea NOT NULL CHECK (octet_length(hash) = 32),
  key_id         text NOT NULL,
  signed_at      timestamptz NOT NULL,
  -- The signed document, byte for byte (canonical JSON), and its Ed25519 signature (base64).
  document       text NOT NULL,
  signature      text NOT NULL
);
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE TABLE audit_verifications (
  id                    bigserial PRIMARY KEY,
  trigger               text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  started_at            timestamptz NOT NULL,
  finished_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  ok                    boolean NOT NULL,
  checked_transactions  bigint NOT NULL,
  findings_count        int NOT NULL,
  -- The whole answer of GET /v1/audit/verify (findings bounded by the verifier).
  result                jsonb NOT NULL
);

-- audit.checkpoint: a webhook event that belongs to no load.
ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_events_check;
ALTER TABLE webhook_subscriptions ADD CONSTRAINT webhook_subscriptions_events_check CHECK (cardinality(events) > 0
  AND events <@ ARRAY['card_load.posted', 'card_load.reversed', 'card_load.needs_review', 'audit.checkpoint']::text[]);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_check
  CHECK (event IN ('card_load.posted', 'card_load.reversed', 'card_load.needs_review', 'audit.checkpoint'));
ALTER TABLE webhook_deliveries ALTER COLUMN load_id DROP NOT NULL;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_load_event CHECK ((load_id IS NULL) = (event = 'audit.checkpoint'));
`);
  }

  async down(): Promise<void> {
    // Dropping the MACs and checkpoints would remove the ledger's anchor; subscriptions may hold audit.checkpoint.
    throw new Error('AuditAnchors1764810000000 cannot be reverted: restore from backup or roll forward');
  }
}
