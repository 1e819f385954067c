import { Client } from 'pg';
import { LEDGER_CHECKS } from '../../src/ledger/ledger-invariants';

/**
 * The ledger's invariant checks (src/ledger/ledger-invariants.ts, run in production by the audit verifier) as test
 * helpers, for every suite that writes money and for the soak and fuzz benches (tsconfig.build.json compiles it).
 */

/**
 * The outbox's own rule, checked beside the ledger's: a load's sync job ends in the transaction that settles it
 * (docs/design.md, "A load's life"; settlement_lock and card_loads_settle), so no posted or reversed load still has one.
 */
const OUTBOX_CHECKS = [
  {
    name: 'settledLoadWithJob',
    sql: (limit: number) => `SELECT l.id::text AS row FROM sync_jobs j JOIN card_loads l ON l.id = j.load_id
      WHERE l.status IN ('posted', 'reversed') LIMIT ${limit}`,
  },
];

/** Every check, all offending rows up to `limit` each, by check name. */
export async function ledgerViolations(c: Pick<Client, 'query'>, limit = 1000): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const check of [...LEDGER_CHECKS, ...OUTBOX_CHECKS]) out[check.name] = (await c.query(check.sql(limit))).rows;
  return out;
}

export function expectNoViolations(v: Record<string, unknown[]>): void {
  const broken = Object.entries(v).filter(([, rows]) => rows.length > 0);
  if (broken.length) throw new Error(`ledger invariants broken: ${JSON.stringify(broken).slice(0, 2000)}`);
}
