import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { cardLoadIntakeCall } from '../../src/card-loads/card-loads.store';
import { useTestApp } from '../support/app';
import { sql } from '../support/db';

/**
 * Intake's lookups by key must be planned as index probes however small the tables were when the connection planned
 * them (migration 1765410000000, docs/design.md "Plans that do not depend on statistics"): PL/pgSQL keeps a plan
 * until an ANALYZE, and a hash join over a sequential scan chosen on an empty ledger would scan the whole table on
 * every call once the ledger is big, and so would an index that only narrows the search (migration 1765420000000).
 * auto_explain, sent to this session as notices, shows each nested statement's plan.
 */
describe('intake and settlement plans on a ledger never analyzed', () => {
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
    'last change moments': 'bool_or(a.history_seq > 0 AND a.history_at IS NULL)',
    'balances update': 'UPDATE accounts a SET pending_debits',
    'settled loads': 'UPDATE card_loads l SET attempts',
    'ended jobs': 'DELETE FROM sync_jobs j',
  };

  it('should reach every row by its key, call after call, from the first call on an empty ledger', async () => {
    const [key] = (await db.query<{ id: string }>(`SELECT id FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at LIMIT 1`)).rows;
    // The functions keep one plan per statement from their first call (migration 1765420000000); eight calls also go
    // past the five custom plans that Postgres would otherwise make first.
    for (let call = 0; call < 8; call++) {
      await db.query(
        ...cardLoadIntakeCall(
          [0, 1, 2].map((i) => ({
            id: randomUUID(),
            reference: `CLPLAN${call}${i}`,
            apiKeyId: key.id,
            idempotencyKey: `plan-${call}-${i}`,
            requestHash: Buffer.alloc(32, i),
            enKashCardId: `EKCPL${String(call * 3 + i).padStart(5, '0')}`,
            companyId: 'CEKEP5GSGP',
            cardAccountId: 'CAPLANS',
            amountMinor: BigInt(100 * (i + 1)),
            currency: 'INR',
            journalTransactionId: randomUUID(),
            description: null,
            remarks: null,
            metadata: {},
            requestId: null,
            actor: 'plans',
            transferDescription: `plan ${i}`,
          })),
        ),
      );
    }
    const { rows: loads } = await ctx.db.query<{ id: string; journal_transaction_id: string }>(
      `SELECT id, journal_transaction_id FROM card_loads WHERE idempotency_key LIKE 'plan-%' ORDER BY id`,
    );
    // First, on this connection, one transfer resolved straight through ledger_resolve_pending, as LedgerService does
    // outside settlement: its plans are made without the join settings that card_loads_settle runs with.
    await db.query(
      `SELECT * FROM ledger_resolve_pending(ARRAY[$1]::uuid[], ARRAY['void_pending'], ARRAY['load_reversed'], ARRAY[$2]::uuid[],
         ARRAY[$3]::uuid[])`,
      [loads[0].journal_transaction_id, loads[0].id, randomUUID()],
    );
    // Then settle the others, three loads a batch, as SettlementService does: the lock, then the writes, in one transaction.
    for (let b = 1; b < loads.length; b += 3) {
      const batch = loads.slice(b, b + 3);
      const each = <T>(f: (l: (typeof batch)[number], i: number) => T) => batch.map(f);
      await db.query('BEGIN');
      await db.query(`SELECT * FROM settlement_lock($1::uuid[])`, [each((l) => l.id)]);
      await db.query(
        `SELECT * FROM card_loads_settle($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[],
           $9::uuid[], $10::text[], $11::text[], $12::uuid[], $13::uuid[], $14::text[], $15::text[], $16::text[], $17::text[])`,
        [
          ...[[], [], [], [], [], [], [], []],
          each((l) => l.journal_transaction_id),
          each((_, i) => (i % 2 ? 'void_pending' : 'post_pending')),
          each((_, i) => (i % 2 ? 'load_reversed' : 'load_posted')),
          each((l) => l.id),
          each(() => randomUUID()),
          each((_, i) => (i % 2 ? 'reversed' : 'posted')),
          each(() => 'plans'),
          each(() => 'plans'),
          each(() => null),
        ],
      );
      await db.query('COMMIT');
    }
    expect(loads.length).toBe(24);
    for (const [name, marker] of Object.entries(LOOKUPS)) {
      const seen = plans.filter((p) => p.includes(marker) && p.includes('Query Text'));
      expect([name, seen.length >= 8]).toEqual([name, true]);
      const joins = seen.filter((p) => /Hash Join|Merge Join/.test(p));
      expect([name, joins]).toEqual([name, []]);
    }
    // Two indexes begin with api_key_id; on an empty table they cost the same, and the owner's list, filtered by key,
    // reads every load of the key once the ledger has grown. The lookup must be the unique key's probe.
    const keyLookups = plans.filter((p) => p.includes(LOOKUPS['idempotency keys']) && p.includes('Query Text'));
    expect(keyLookups.filter((p) => !p.includes('Index Scan using card_loads_idempotency on card_loads c'))).toEqual([]);
    // No statement of either, nor of the triggers they fire, reads a whole ledger table.
    const scans = plans.filter((p) => /Seq Scan on (card_loads|accounts|sync_jobs|load_events|journal_\w+|account_history\w*) /.test(p));
    expect(scans).toEqual([]);
    // A plan that needs what a setting turned off costs 10^10 and would be compiled by JIT on every call (where
    // Postgres is built with it): the functions turn JIT off too.
    expect(plans.filter((p) => p.includes('JIT:'))).toEqual([]);
  });
});
