import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Intake tries to open accounts only when one is missing (docs/design.md "Intake in one call", issue 17).
 * card_load_intake looked up every account of the batch (for the turn), then ran `INSERT … ON CONFLICT (code) DO
 * NOTHING` for all of them anyway: an index probe, a sort and a conflict check per account, under the parent's turn,
 * on every batch, although after a card's first load every account exists. The lookup's answer now decides: when
 * it found as many accounts as there are codes, nothing is inserted. Accounts are never deleted, so an account found
 * by the lookup still exists at the insert; one that is missing goes through the same insert as before.
 *
 * Only that statement changes. The rest of the function is the body migration 1765200000000 wrote, read back from
 * the database and rewritten here, so it is not copied (each rewrite checks that the text it replaces is there,
 * exactly once).
 */
const LOOKUP_AND_INSERT = `        PERFORM ledger_begin_moment(ARRAY(
          SELECT a.id FROM unnest(codes) AS k(code) CROSS JOIN LATERAL (SELECT id FROM accounts WHERE code = k.code) a));
        INSERT INTO accounts (code, currency, normal_side)`;
const INSERT_END = `          ON CONFLICT (code) DO NOTHING;\n`;
const DECLARE_CODES = `        codes text[];\n`;

const REWRITES: Array<[string, string]> = [
  [DECLARE_CODES, `${DECLARE_CODES}        known bigint[];\n`],
  [
    LOOKUP_AND_INSERT,
    `        known := ARRAY(
          SELECT a.id FROM unnest(codes) AS k(code) CROSS JOIN LATERAL (SELECT id FROM accounts WHERE code = k.code) a);
        PERFORM ledger_begin_moment(known);
        IF cardinality(known) < cardinality(codes) THEN
        INSERT INTO accounts (code, currency, normal_side)`,
  ],
  [INSERT_END, `${INSERT_END}        END IF;\n`],
];

async function rewriteIntake(q: QueryRunner, rewrites: Array<[string, string]>): Promise<void> {
  const [{ def }] = (await q.query(`SELECT pg_get_functiondef('card_load_intake'::regproc) AS def`)) as Array<{ def: string }>;
  let body = def;
  for (const [from, to] of rewrites) {
    if (body.split(from).length !== 2) throw new Error(`card_load_intake is not the body this migration expects: ${from.trim()}`);
    body = body.replace(from, to);
  }
  await q.query(body);
}

export class IntakeOpensOnlyNewAccounts1765240000000 implements MigrationInterface {
  name = 'IntakeOpensOnlyNewAccounts1765240000000';

  async up(q: QueryRunner): Promise<void> {
    await rewriteIntake(q, REWRITES);
  }

  async down(q: QueryRunner): Promise<void> {
    await rewriteIntake(
      q,
      [...REWRITES].reverse().map(([from, to]) => [to, from]),
    );
  }
}
