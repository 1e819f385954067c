import { Client } from 'pg';
import { useTestApp } from '../support/app';
import { sql } from '../support/db';
import { createLoad } from './sync-harness';

/**
 * The worker's claim, fences and webhook match are functions whose plans last the connection's life (migration
 * 1765470000000, docs/design.md "The worker's statements planned once"). A generic plan guesses the size of its arrays
 * and LIMIT; the claim's first one hashed a sequential scan of sync_jobs to join the jobs it had claimed. Each of their
 * statements must reach rows by key, call after call, from the first call on a database never analyzed. auto_explain,
 * sent to this session as notices, shows each nested statement's plan.
 */
describe('the worker’s statements on a ledger never analyzed', () => {
  const ctx = useTestApp({ env: { ROLE: 'api' } });
  let db: Client;
  const plans: string[] = [];

  beforeAll(async () => {
    db = await sql(ctx.app.databaseUrl);
    db.on('notice', (n) => plans.push(n.message ?? ''));
    for (const s of [
      `LOAD 'auto_explain'`,
      `SET auto_explain.log_min_duration = 0`,
      `SET auto_explain.log_nested_statements = on`,
      `SET auto_explain.log_level = notice`,
    ])
      await db.query(s);
  });
  afterEach(() => db.end());

  const STATEMENTS = {
    claim: 'UPDATE sync_jobs j\n     SET lease_owner = p_owner',
    fences: 'WITH x AS (SELECT * FROM unnest(p_loads, p_tokens',
    subscriptions: 'JOIN webhook_subscriptions s ON',
  };

  it('should reach every row by its key, call after call, from the first call', async () => {
    for (let i = 0; i < 40; i++) await createLoad(ctx.app, `EKCWP${String(i).padStart(5, '0')}`, '1.00');
    // Eight rounds of four jobs: past the five custom plans Postgres would otherwise make first.
    for (let round = 0; round < 8; round++) {
      const { rows: jobs } = await db.query<{ load_id: string; token: string }>(
        `SELECT load_id, token FROM sync_jobs_claim('plans', 4, 30000, 5000, 5000)`,
      );
      expect(jobs).toHaveLength(4);
      const each = <T>(f: (j: (typeof jobs)[number]) => T) => jobs.map(f);
      const { rows: fenced } = await db.query(
        `SELECT * FROM sync_jobs_fence($1::uuid[], $2::bigint[], $3::text[], $4::float8[], $5::float8[])`,
        [each((j) => j.load_id), each((j) => j.token), each(() => 'plans'), each(() => 30000), each(() => (round % 2 ? null : 5000))],
      );
      expect(fenced.map((f) => f.held)).toEqual([true, true, true, true]);
      await db.query('BEGIN');
      await db.query(`SELECT * FROM webhook_subscriptions_hearing($1::uuid[], $2::text[])`, [
        each((j) => j.load_id),
        each(() => 'card_load.posted'),
      ]);
      await db.query('COMMIT');
    }
    for (const [name, marker] of Object.entries(STATEMENTS)) {
      const seen = plans.filter((p) => p.includes(marker) && p.includes('Query Text'));
      expect([name, seen.length]).toEqual([name, 8]);
      expect([name, seen.filter((p) => /Hash Join|Merge Join/.test(p))]).toEqual([name, []]);
      expect([name, seen.filter((p) => /Seq Scan on (card_loads|sync_jobs|api_keys) /.test(p))]).toEqual([name, []]);
    }
    expect(plans.filter((p) => p.includes('JIT:'))).toEqual([]);
  });
});
