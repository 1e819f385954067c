import { MigrationInterface, QueryRunner } from 'typeorm';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * ledger_apply_deltas plans a batch's moves once, not twice (docs/design.md "Moves planned once", issue 17).
 *
 * ledger_plan_moves numbers each account's moves, carries its running sums and flags what a write must refuse: one
 * primary-key lookup per move, two sorts and three window passes. ledger_apply_deltas ran it for the check (ascending
 * ids, known accounts, no negative sum, no overdraft) and again in the statement that writes the history rows and the
 * balances. Between the two nothing can change what it reads (the accounts are locked, advisory and FOR NO KEY
 * UPDATE, and both run after the locks), so the moves of the check are the moves written: they are kept in a
 * variable, an array of ledger_move, and both statements read that array.
 */
const MOVE = `CREATE TYPE ledger_move AS (i bigint, tx uuid, ev text, load uuid, id bigint, pd bigint, pc bigint, sd bigint,
  sc bigint, seq bigint, npd bigint, npc bigint, nsd bigint, nsc bigint, is_last boolean, prev_id bigint, normal_side text,
  no_overdraft boolean, known boolean)`;

const PLAN = 'ledger_plan_moves(p_txs, p_events, p_loads, p_ids, p_pd, p_pc, p_sd, p_sc)';

const EDITS = [
  ['  bad record;\nBEGIN', '  bad record;\n  moves ledger_move[];\nBEGIN', 1],
  [
    `  SELECT * INTO bad FROM ${PLAN} p\n`,
    `  moves := ARRAY(SELECT ROW(p.*)::ledger_move FROM ${PLAN} p);\n  SELECT * INTO bad FROM unnest(moves) p\n`,
    1,
  ],
  [`WITH p AS MATERIALIZED (SELECT * FROM ${PLAN}),`, 'WITH p AS MATERIALIZED (SELECT * FROM unnest(moves)),', 1],
] as const;

export class MovesPlannedOnce1765450000000 implements MigrationInterface {
  name = 'MovesPlannedOnce1765450000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(MOVE);
    await rewriteFunction(q, 'ledger_apply_deltas', EDITS);
  }

  async down(q: QueryRunner): Promise<void> {
    await rewriteFunction(q, 'ledger_apply_deltas', undone(EDITS));
    await q.query('DROP TYPE ledger_move');
  }
}
