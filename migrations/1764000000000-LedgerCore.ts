import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger core: accounts with two-phase balances, append-only journal entries and balance history,
 * the seal chain, card loads with their outbox, load events and API keys.
 * Invariants from DESIGN.md are enforced here wherever the database can hold them.
 */
export class LedgerCore1764000000000 implements MigrationInterface {
  name = 'LedgerCore1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Append-only guard shared by every audit table (invariant 2).
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'P0001';
END $$;

CREATE TABLE accounts (
  id              bigserial PRIMARY KEY,
  code            text NOT NULL CONSTRAINT accounts_code_key UNIQUE
                  CHECK (code ~ '^[a-z][a-z0-9_]*:[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'),
  currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  normal_side     text NOT NULL CHECK (normal_side IN ('debit', 'credit')),
  no_overdraft    boolean NOT NULL DEFAULT false,
  name            text,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Two-phase balances, as TigerBeetle keeps them. Every change goes with one account_history row.
  pending_debits  bigint NOT NULL DEFAULT 0 CHECK (pending_debits >= 0),
  pending_credits bigint NOT NULL DEFAULT 0 CHECK (pending_credits >= 0),
  posted_debits   bigint NOT NULL DEFAULT 0 CHECK (posted_debits >= 0),
  posted_credits  bigint NOT NULL DEFAULT 0 CHECK (posted_credits >= 0),
  -- Sequence of the newest account_history row; the opening row is 0.
  history_seq     bigint NOT NULL DEFAULT 0,
  -- noOverdraft: available = posted balance minus pending outflows, never below zero.
  CONSTRAINT accounts_no_overdraft CHECK (NOT no_overdraft OR CASE normal_side
      WHEN 'credit' THEN posted_credits - posted_debits - pending_debits >= 0
      ELSE posted_debits - posted_credits - pending_credits >= 0 END)
);

-- kind: pending (phase one of a two-phase transfer), post_pending / void_pending (phase two, resolving
-- pending_id), posted (single-phase, e.g. a manual journal or an undo of a posted load).
CREATE TABLE journal_transactions (
  id           uuid PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('pending', 'post_pending', 'void_pending', 'posted')),
  pending_id   uuid REFERENCES journal_transactions(id),
  undoes_id    uuid REFERENCES journal_transactions(id),
  description  text,
  metadata     jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)),
  CHECK (undoes_id IS NULL OR kind = 'posted')
);
-- Invariant 9: a pending transfer is resolved (posted or voided) at most once, whatever the callers race.
CREATE UNIQUE INDEX journal_transactions_resolves_once ON journal_transactions (pending_id) WHERE pending_id IS NOT NULL;
-- A posted transfer is undone at most once.
CREATE UNIQUE INDEX journal_transactions_undone_once ON journal_transactions (undoes_id) WHERE undoes_id IS NOT NULL;
CREATE INDEX journal_transactions_created_at ON journal_transactions (created_at, id);
CREATE TRIGGER journal_transactions_append_only BEFORE UPDATE OR DELETE ON journal_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_transactions_no_truncate BEFORE TRUNCATE ON journal_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE TABLE journal_entries (
  id             bigserial PRIMARY KEY,
  transaction_id uuid NOT NULL REFERENCES journal_transactions(id),
  account_id     bigint NOT NULL REFERENCES accounts(id),
  direction      text NOT NULL CHECK (direction IN ('debit', 'credit')),
  amount         bigint NOT NULL CHECK (amount > 0),
  currency       char(3) NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX journal_entries_transaction ON journal_entries (transaction_id);
CREATE INDEX journal_entries_account ON journal_entries (account_id, id);
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Invariant 1, checked at commit: two or more entries, debits = credits per currency, and the entry's
-- currency is its account's.
CREATE FUNCTION journal_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n int;
  bad int;
BEGIN
  SELECT count(*) INTO n FROM journal_entries WHERE transaction_id = NEW.transaction_id;
  IF n < 2 THEN
    RAISE EXCEPTION 'journal transaction % has % entries; at least two are required', NEW.transaction_id, n
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  SELECT count(*) INTO bad FROM (
    SELECT currency FROM journal_entries WHERE transaction_id = NEW.transaction_id
    GROUP BY currency
    HAVING sum(CASE direction WHEN 'debit' THEN amount ELSE -amount END) <> 0) u;
  IF bad > 0 THEN
    RAISE EXCEPTION 'journal transaction % does not balance', NEW.transaction_id
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  IF EXISTS (SELECT 1 FROM accounts a WHERE a.id = NEW.account_id AND a.currency <> NEW.currency) THEN
    RAISE EXCEPTION 'entry currency % differs from its account', NEW.currency
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_currency';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_check_balanced();

-- Balance history: one row per balance change per account (invariants 3 and 10).
CREATE TABLE account_history (
  account_id      bigint NOT NULL REFERENCES accounts(id),
  seq             bigint NOT NULL CHECK (seq >= 0),
  transaction_id  uuid REFERENCES journal_transactions(id),
  event           text NOT NULL CHECK (event IN ('opening', 'load_pending', 'load_posted', 'load_reversed', 'load_undone', 'journal')),
  load_id         uuid,
  at              timestamptz NOT NULL DEFAULT clock_timestamp(),
  d_pending_debits  bigint NOT NULL DEFAULT 0,
  d_pending_credits bigint NOT NULL DEFAULT 0,
  d_posted_debits   bigint NOT NULL DEFAULT 0,
  d_posted_credits  bigint NOT NULL DEFAULT 0,
  pending_debits  bigint NOT NULL,
  pending_credits bigint NOT NULL,
  posted_debits   bigint NOT NULL,
  posted_credits  bigint NOT NULL,
  PRIMARY KEY (account_id, seq),
  CHECK ((seq = 0) = (event = 'opening'))
);
CREATE INDEX account_history_at ON account_history (account_id, at, seq);
CREATE INDEX account_history_load ON account_history (load_id) WHERE load_id IS NOT NULL;

-- Each row continues the previous one exactly: seq + 1 and running balances = previous + movement.
CREATE FUNCTION account_history_check_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  prev account_history%ROWTYPE;
BEGIN
  IF NEW.seq = 0 THEN
    IF NEW.pending_debits <> 0 OR NEW.pending_credits <> 0 OR NEW.posted_debits <> 0 OR NEW.posted_credits <> 0 THEN
      RAISE EXCEPTION 'opening history row must be zero' USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
    END IF;
    RETURN NEW;
  END IF;
  SELECT * INTO prev FROM account_history WHERE account_id = NEW.account_id AND seq = NEW.seq - 1;
  IF NOT FOUND
     OR NEW.pending_debits  <> prev.pending_debits  + NEW.d_pending_debits
     OR NEW.pending_credits <> prev.pending_credits + NEW.d_pending_credits
     OR NEW.posted_debits   <> prev.posted_debits   + NEW.d_posted_debits
     OR NEW.posted_credits  <> prev.posted_credits  + NEW.d_posted_credits THEN
    RAISE EXCEPTION 'history row %/% does not continue the previous row', NEW.account_id, NEW.seq
      USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER account_history_chain BEFORE INSERT ON account_history
  FOR EACH ROW EXECUTE FUNCTION account_history_check_chain();
CREATE TRIGGER account_history_append_only BEFORE UPDATE OR DELETE ON account_history
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER account_history_no_truncate BEFORE TRUNCATE ON account_history
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Every account opens with a zero row at seq 0, in the same statement that creates it (invariant 10).
CREATE FUNCTION accounts_open_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO account_history (account_id, seq, event, at, pending_debits, pending_credits, posted_debits, posted_credits)
  VALUES (NEW.id, 0, 'opening', NEW.created_at, 0, 0, 0, 0);
  RETURN NULL;
END $$;
CREATE TRIGGER accounts_opening_row AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION accounts_open_history();
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Tamper evidence (invariant 8). Writers only enqueue; one background sealer at a time (advisory lock)
-- appends seals in its own order, so no writer ever waits for the chain.
CREATE TABLE journal_unsealed (
  transaction_id uuid PRIMARY KEY REFERENCES journal_transactions(id)
);
CREATE TABLE journal_seals (
  seq            bigint PRIMARY KEY CHECK (seq >= 1),
  transaction_id uuid NOT NULL UNIQUE REFERENCES journal_transactions(id),
  content_hash   bytea NOT NULL,
  prev_hash      bytea NOT NULL,
  hash           bytea NOT NULL,
  sealed_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER journal_seals_append_only BEFORE UPDATE OR DELETE ON journal_seals
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_seals_no_truncate BEFORE TRUNCATE ON journal_seals
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE TABLE api_keys (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  -- First characters of the key, to recognise it in lists; the key itself is never stored.
  prefix      text NOT NULL,
  key_hash    bytea NOT NULL UNIQUE,
  scopes      text[] NOT NULL CHECK (scopes <@ ARRAY['loads:write', 'ledger:read', 'ops:write', 'admin']::text[] AND cardinality(scopes) > 0),
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  revoked_at  timestamptz
);

CREATE TABLE card_loads (
  id                     uuid PRIMARY KEY,
  -- uniqueReferenceNumber sent to EnKash: minted once at intake, reused on every retry, unique forever.
  reference              text NOT NULL CONSTRAINT card_loads_reference_key UNIQUE,
  api_key_id             uuid NOT NULL REFERENCES api_keys(id),
  idempotency_key        text NOT NULL,
  -- SHA-256 of the normalised request: the same key with another body is a 409.
  request_hash           bytea NOT NULL,
  en_kash_card_id        text NOT NULL,
  company_id             text NOT NULL,
  card_account_id        text NOT NULL,
  amount                 bigint NOT NULL CHECK (amount > 0),
  currency               char(3) NOT NULL,
  status                 text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'posted', 'reversed', 'needs_review')),
  status_reason          text,
  attempts               int NOT NULL DEFAULT 0,
  journal_transaction_id uuid NOT NULL REFERENCES journal_transactions(id) DEFERRABLE INITIALLY DEFERRED,
  description            text,
  remarks                text,
  metadata               jsonb NOT NULL DEFAULT '{}',
  request_id             text,
  created_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
  posted_at              timestamptz,
  reversed_at            timestamptz,
  undone_at              timestamptz,
  CONSTRAINT card_loads_idempotency UNIQUE (api_key_id, idempotency_key)
);
CREATE INDEX card_loads_created ON card_loads (created_at DESC, id DESC);
CREATE INDEX card_loads_status ON card_loads (status, created_at DESC, id DESC);
CREATE INDEX card_loads_card ON card_loads (en_kash_card_id, created_at DESC, id DESC);

-- A load leaves pending exactly once; posted and reversed are final; what was asked never changes.
CREATE FUNCTION card_loads_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'card loads are never deleted' USING ERRCODE = 'P0001';
  END IF;
  IF NEW.reference <> OLD.reference OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency
     OR NEW.en_kash_card_id <> OLD.en_kash_card_id OR NEW.company_id <> OLD.company_id
     OR NEW.card_account_id <> OLD.card_account_id OR NEW.journal_transaction_id <> OLD.journal_transaction_id
     OR NEW.idempotency_key <> OLD.idempotency_key OR NEW.api_key_id <> OLD.api_key_id
     OR NEW.request_hash <> OLD.request_hash OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'card load % : requested fields are immutable', OLD.id USING ERRCODE = 'P0001';
  END IF;
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'pending' AND NEW.status IN ('posted', 'reversed', 'needs_review'))
    OR (OLD.status = 'needs_review' AND NEW.status IN ('posted', 'reversed'))) THEN
    RAISE EXCEPTION 'card load % : % -> % is not a legal transition', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'P0001', CONSTRAINT = 'card_loads_transition';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER card_loads_guard BEFORE UPDATE OR DELETE ON card_loads FOR EACH ROW EXECUTE FUNCTION card_loads_guard();

-- Every state change and every EnKash attempt, in order (append-only).
CREATE TABLE load_events (
  id          bigserial PRIMARY KEY,
  load_id     uuid NOT NULL REFERENCES card_loads(id),
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  type        text NOT NULL,
  outcome     text,
  http_status int,
  code        text,
  message     text,
  duration_ms int,
  actor       text,
  request_id  text
);
CREATE INDEX load_events_load ON load_events (load_id, id);
CREATE TRIGGER load_events_append_only BEFORE UPDATE OR DELETE ON load_events
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER load_events_no_truncate BEFORE TRUNCATE ON load_events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The outbox: one job per load, written in the intake transaction. Leases use DB time.
CREATE TABLE sync_jobs (
  load_id           uuid PRIMARY KEY REFERENCES card_loads(id),
  due_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Attempts in the current retry budget (reset when an operator re-queues a load in review).
  attempts          int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  budget_started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- true once a send may have happened (set at every claim): the next try looks the reference up first.
  needs_lookup      boolean NOT NULL DEFAULT false,
  -- A lookup only means "absent" after EnKash had time to show the last possible send (visibility lag).
  lookup_after      timestamptz,
  -- An outcome we could not classify as definite was seen: a later rejection is trusted only after a lookup.
  unknown_seen      boolean NOT NULL DEFAULT false,
  -- When the first unknown outcome was seen: a held rejection is trusted only long after it (lag is unknown).
  first_unknown_at  timestamptz,
  -- A rejection waiting for a lookup to confirm the reference absent before the load is reversed.
  pending_rejection text,
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_outcome      text,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX sync_jobs_due ON sync_jobs (due_at);
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
DROP TABLE IF EXISTS sync_jobs, load_events, card_loads, api_keys, journal_seals, journal_unsealed,
  account_history, journal_entries, journal_transactions, accounts CASCADE;
DROP FUNCTION IF EXISTS card_loads_guard, accounts_open_history, account_history_check_chain,
  journal_check_balanced, ledger_refuse_change;
`);
  }
}
