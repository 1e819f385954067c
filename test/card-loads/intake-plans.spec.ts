import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { useTestApp } from '../support/app';
import { sql } from '../support/db';

/**
 * Intake's lookups by key must be planned as index probes however small the tables were when the connection planned
 * them (migration 1765410000000, docs/design.md "Plans that do not depend on statistics"): PL/pgSQL keeps a plan
 * until an ANALYZE, and a hash join over a sequential scan chosen on an empty ledger would scan the whole table on
 * every call once the ledger is big. auto_explain, sent to this session as notices, shows each nested statement's plan.
 */
describe('intake plans on a ledger never analyzed', () => {
  const ctx = useTestApp();
  let db: Client;
  const plans: string[] = [];

  beforeAll(async () => {
    db = await sql(ctx.app.databaseUrl);
    db.on('notice', (n) => plans.push(n.message ?? ''));
    await db.query(`LOAD 'auto_explain'`);
    await db.query(`SET auto_explain.log_min_duration = 0`);
    await db.query(`SET auto_explain.log_nested_statements = on`);
    await db.query(`SET auto_explain.log_level = notice`);
  });
  // Before useTestApp's own afterAll drops the database (its hooks were declared first, so they run first).
  afterEach(() => db.end());

  const LOOKUPS = {
    'idempotency keys': 'FROM card_loads c',
    'accounts by code': 'WHERE code = k.code',
    'last history moment': 'max(h.at)',
    'balances update': 'UPDATE accounts a SET pending_debits',
  };

  it('should probe the unique indexes, call after call, from the first call on an empty ledger', async () => {
    const [key] = (await db.query<{ id: string }>(`SELECT id FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at LIMIT 1`)).rows;
    // Past the five custom plans, into the generic plan PL/pgSQL keeps.
    for (let call = 0; call < 8; call++) {
      const three = <T>(f: (i: number) => T) => [0, 1, 2].map(f);
      await db.query(
        `SELECT id FROM card_load_intake($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bytea[], $6::text[], $7::text[],
           $8::text[], $9::bigint[], $10::char(3)[], $11::uuid[], $12::text[], $13::text[], $14::jsonb[], $15::text[],
           $16::text[], $17::text[])`,
        [
          three(() => randomUUID()),
          three((i) => `CLPLAN${call}${i}`),
          three(() => key.id),
          three((i) => `plan-${call}-${i}`),
          three((i) => Buffer.alloc(32, i)),
          three((i) => `EKCPL${String(call * 3 + i).padStart(5, '0')}`),
          three(() => 'CEKEP5GSGP'),
          three(() => 'CAPLANS'),
          three((i) => String(100 * (i + 1))),
          three(() => 'INR'),
          three(() => randomUUID()),
          three(() => null),
          three(() => null),
          three(() => '{}'),
          three(() => null),
          three(() => 'plans'),
          three((i) => `plan ${i}`),
        ],
      );
    }
    for (const [name, marker] of Object.entries(LOOKUPS)) {
      const seen = plans.filter((p) => p.includes(marker) && p.includes('Query Text'));
      expect([name, seen.length >= 8]).toEqual([name, true]);
      const scans = seen.filter((p) => /Hash Join|Merge Join|Seq Scan on (card_loads|accounts)/.test(p));
      expect([name, scans]).toEqual([name, []]);
    }
  });
});
