import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fencing tokens for the outbox (docs/design.md, "Who may change a load"): every claim of a job takes a fresh
 * number from a sequence, and every later write of that worker (fence, attempt records, settle, reschedule,
 * release, needs_review) is conditional on still holding that exact number. A claim is per claim, not per
 * process: the same process claiming the job twice holds two different tokens. And the evidence of a late answer.
 */
export class SyncClaimTokens1764700000000 implements MigrationInterface {
  name = 'SyncClaimTokens1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE SEQUENCE sync_claim_tokens AS bigint;
ALTER TABLE sync_jobs
  -- The token of the claim that holds the job; NULL when nobody holds it (parked, due, or given back).
  -- A lapsed lease keeps its token until the next claim replaces it, so the lapsed holder stays fenced out.
  ADD COLUMN claim_token bigint,
  -- EnKash answered success to a send after the worker had given up on it (a late answer): proof the load was
  -- applied, whatever a lookup shows yet. Never cleared; a send is never repeated once it is set.
  ADD COLUMN late_success_at timestamptz;
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
ALTER TABLE sync_jobs DROP COLUMN IF EXISTS claim_token, DROP COLUMN IF EXISTS late_success_at;
DROP SEQUENCE IF EXISTS sync_claim_tokens;
`);
  }
}
