import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Balance movement in one round trip: the hot parent account's row lock is held from this call to COMMIT
 * only, instead of across several statements. One call may carry many transfers (a batch of card loads):
 * element i moves account p_ids[i] for transaction p_txs[i], one history row each. Rows are locked and
 * updated in ascending account id order (the caller sorts; the function refuses anything else), so
 * transfers sharing accounts never deadlock. All history rows of one call carry one `at`: a transfer
 * happens at one moment on all its accounts.
 */
export class LedgerApplyDeltas1764100000000 implements MigrationInterface {
  name = 'LedgerApplyDeltas1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE FUNCTION ledger_apply_deltas(p_txs uuid[], p_events text[], p_loads uuid[], p_ids bigint[],
  p_pd bigint[], p_pc bigint[], p_sd bigint[], p_sc bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  i int;
  a accounts%ROWTYPE;
  moment timestamptz;
BEGIN
  -- Lock first, then read the clock: an account's history is then ordered the same by seq and by at,
  -- which is what makes "balance as of a moment" well defined.
  PERFORM 1 FROM accounts WHERE id = ANY(p_ids) ORDER BY id FOR NO KEY UPDATE;
  moment := clock_timestamp();
  FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
    IF i > 1 AND p_ids[i] < p_ids[i - 1] THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account ids must be ascending' USING ERRCODE = 'P0001';
    END IF;
    UPDATE accounts SET pending_debits = pending_debits + p_pd[i], pending_credits = pending_credits + p_pc[i],
                        posted_debits = posted_debits + p_sd[i], posted_credits = posted_credits + p_sc[i],
                        history_seq = history_seq + 1
    WHERE id = p_ids[i] RETURNING * INTO a;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account % does not exist', p_ids[i] USING ERRCODE = 'P0001';
    END IF;
    INSERT INTO account_history (account_id, seq, transaction_id, event, load_id, at,
      d_pending_debits, d_pending_credits, d_posted_debits, d_posted_credits,
      pending_debits, pending_credits, posted_debits, posted_credits)
    VALUES (a.id, a.history_seq, p_txs[i], p_events[i], p_loads[i], moment, p_pd[i], p_pc[i], p_sd[i], p_sc[i],
      a.pending_debits, a.pending_credits, a.posted_debits, a.posted_credits);
  END LOOP;
END $$;
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS ledger_apply_deltas`);
  }
}
