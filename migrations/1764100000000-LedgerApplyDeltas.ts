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
  i int := 1;
  j int;
  k int;
  n int := coalesce(array_length(p_ids, 1), 0);
  a accounts%ROWTYPE;
  available bigint;
  moment timestamptz;
BEGIN
  -- Lock first, then read the clock: an account's history is then ordered the same by seq and by at,
  -- which is what makes "balance as of a moment" well defined.
  PERFORM 1 FROM accounts WHERE id = ANY(p_ids) ORDER BY id FOR NO KEY UPDATE;
  moment := clock_timestamp();
  WHILE i <= n LOOP
    IF i > 1 AND p_ids[i] < p_ids[i - 1] THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account ids must be ascending' USING ERRCODE = 'P0001';
    END IF;
    -- A run of moves on one account (a batch's shared parent): one history row per move, one UPDATE per run,
    -- so a batch of N loads rewrites the hot parent row once instead of N times.
    j := i;
    WHILE j < n AND p_ids[j + 1] = p_ids[i] LOOP j := j + 1; END LOOP;
    SELECT * INTO a FROM accounts WHERE id = p_ids[i];
    IF NOT FOUND THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account % does not exist', p_ids[i] USING ERRCODE = 'P0001';
    END IF;
    FOR k IN i .. j LOOP
      a.pending_debits := a.pending_debits + p_pd[k];
      a.pending_credits := a.pending_credits + p_pc[k];
      a.posted_debits := a.posted_debits + p_sd[k];
      a.posted_credits := a.posted_credits + p_sc[k];
      a.history_seq := a.history_seq + 1;
      -- The row's CHECKs see only the end of the run: hold every intermediate state to them too.
      IF a.pending_debits < 0 OR a.pending_credits < 0 OR a.posted_debits < 0 OR a.posted_credits < 0 THEN
        RAISE EXCEPTION 'ledger_apply_deltas: account % would have a negative sum', a.id USING ERRCODE = 'P0001';
      END IF;
      available := CASE a.normal_side WHEN 'credit' THEN a.posted_credits - a.posted_debits - a.pending_debits
                                      ELSE a.posted_debits - a.posted_credits - a.pending_credits END;
      IF a.no_overdraft AND available < 0 THEN
        RAISE EXCEPTION 'new row for relation "accounts" violates check constraint "accounts_no_overdraft"'
          USING ERRCODE = '23514', CONSTRAINT = 'accounts_no_overdraft', TABLE = 'accounts';
      END IF;
      INSERT INTO account_history (account_id, seq, transaction_id, event, load_id, at,
        d_pending_debits, d_pending_credits, d_posted_debits, d_posted_credits,
        pending_debits, pending_credits, posted_debits, posted_credits)
      VALUES (a.id, a.history_seq, p_txs[k], p_events[k], p_loads[k], moment, p_pd[k], p_pc[k], p_sd[k], p_sc[k],
        a.pending_debits, a.pending_credits, a.posted_debits, a.posted_credits);
    END LOOP;
    UPDATE accounts SET pending_debits = a.pending_debits, pending_credits = a.pending_credits,
                        posted_debits = a.posted_debits, posted_credits = a.posted_credits, history_seq = a.history_seq
    WHERE id = a.id;
    i := j + 1;
  END LOOP;
END $$;
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS ledger_apply_deltas`);
  }
}
