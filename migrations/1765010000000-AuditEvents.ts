import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail of admin actions (docs/audit-trail.md): who did what, when, with which request, append-only
 * like the ledger's own audit tables, and chained row by row so that an edited, removed or inserted row shows.
 *
 *   hash(n) = SHA-256(hash(n-1) || canonical JSON of row n)        hash(0) = 32 zero bytes
 *
 * The hash is computed by the writer (src/audit-trail/audit-trail.hash.ts) and checked by verifyAuditTrail().
 * The database checks what it can without that code: every row continues the chain head (seq + 1, prev_hash =
 * the head's hash), and the head moves with it in the same statement.
 */
export class AuditEvents1765010000000 implements MigrationInterface {
  name = 'AuditEvents1765010000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE TABLE audit_events (
  seq         bigint PRIMARY KEY CHECK (seq >= 1),
  at          timestamptz NOT NULL,
  -- Who: an API key's name, 'cli (<os user>)', or the service itself ('service', 'sync-worker', 'reconciliation').
  actor       text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  api_key_id  uuid,
  -- What: '<thing>.<verb>', e.g. api_key.revoked, webhook.subscribed, card_load.resolved, database.fork_detected.
  action      text NOT NULL CHECK (action ~ '^[a-z_]+\\.[a-z_]+$'),
  -- What it acted on: a key, a subscription, a load, a run (null for service-wide events).
  subject     text CHECK (length(subject) <= 200),
  request_id  text CHECK (length(request_id) <= 100),
  -- The facts of the action (never a secret): names, scopes, URLs, outcomes, reasons, counts.
  details     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
  prev_hash   bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash        bytea NOT NULL CHECK (length(hash) = 32),
  -- Reserved for a keyed MAC of hash (the audit key the seal chain uses), which the database owner cannot forge.
  mac         bytea
);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_subject ON audit_events (subject, seq) WHERE subject IS NOT NULL;
CREATE INDEX audit_events_at ON audit_events (at, seq);
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The end of the chain: writers lock this row (one admin action at a time; they are rare) and the insert moves it.
-- A row removed from the end leaves the head pointing past the last row, which the verifier reports.
CREATE TABLE audit_chain_head (
  id    smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  seq   bigint NOT NULL CHECK (seq >= 0),
  hash  bytea NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE FUNCTION audit_events_continue_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head audit_chain_head%ROWTYPE;
BEGIN
  SELECT * INTO head FROM audit_chain_head WHERE id = 1 FOR UPDATE;
  IF NEW.seq <> head.seq + 1 OR NEW.prev_hash <> head.hash THEN
    RAISE EXCEPTION 'audit event % does not continue the chain (head is %)', NEW.seq, head.seq
      USING ERRCODE = '23514', CONSTRAINT = 'audit_events_chain';
  END IF;
  UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_continue_chain();
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
DROP TABLE IF EXISTS audit_events, audit_chain_head;
DROP FUNCTION IF EXISTS audit_events_continue_chain;
`);
  }
}
