import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconciliation against EnKash: one row per run, and the discrepancies each run found. Findings are
 * audit evidence, so they are append-only like the journal (ledger_refuse_change from LedgerCore).
 */
export class Reconciliation1764200000000 implements MigrationInterface {
  name = 'Reconciliation1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE TABLE reconciliation_runs (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  trigger        text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at    timestamptz,
  -- Loads settled in [window_from, window_to) were looked up; window_from NULL = since the first load.
  window_from    timestamptz,
  window_to      timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Where the next run starts when this one completed: before window_to, so that loads committed late
  -- (settled_at taken before commit) and loads too fresh to trust "absent" are looked up again.
  next_from      timestamptz,
  checked_loads  int NOT NULL DEFAULT 0 CHECK (checked_loads >= 0),
  checked_cards  int NOT NULL DEFAULT 0 CHECK (checked_cards >= 0),
  findings_count int NOT NULL DEFAULT 0 CHECK (findings_count >= 0),
  error          text,
  CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX reconciliation_runs_started ON reconciliation_runs (started_at DESC);

CREATE TABLE reconciliation_findings (
  id            bigserial PRIMARY KEY,
  run_id        uuid NOT NULL REFERENCES reconciliation_runs(id),
  kind          text NOT NULL CHECK (kind IN ('enkash_applied_multiple', 'amount_mismatch', 'posted_missing_at_enkash',
                  'reversed_but_applied', 'reversed_at_enkash', 'lookup_failed', 'card_balance_drift', 'parent_balance_drift')),
  load_id       uuid REFERENCES card_loads(id),
  reference     text,
  account_code  text,
  ledger_amount bigint,
  enkash_amount bigint,
  -- What we held and what EnKash said, as read at the time (money as decimal strings).
  evidence      jsonb NOT NULL,
  found_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX reconciliation_findings_found ON reconciliation_findings (found_at, id);
CREATE INDEX reconciliation_findings_run ON reconciliation_findings (run_id, id);
-- A mismatch of one load is recorded once, however many runs (their windows overlap) see it again.
-- lookup_failed is evidence of a moment, not a mismatch, so each run keeps its own.
CREATE UNIQUE INDEX reconciliation_findings_once ON reconciliation_findings (load_id, kind)
  WHERE load_id IS NOT NULL AND kind <> 'lookup_failed';
CREATE TRIGGER reconciliation_findings_append_only BEFORE UPDATE OR DELETE ON reconciliation_findings
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER reconciliation_findings_no_truncate BEFORE TRUNCATE ON reconciliation_findings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The run pages loads by settlement time; without this it would scan every load ever made.
CREATE INDEX card_loads_settled ON card_loads ((coalesce(posted_at, reversed_at)), id) WHERE status IN ('posted', 'reversed');
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
DROP INDEX IF EXISTS card_loads_settled;
DROP TABLE IF EXISTS reconciliation_findings, reconciliation_runs;
`);
  }
}
