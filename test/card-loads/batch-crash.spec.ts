import { Client } from 'pg';
import { UNREACHABLE_ENKASH_ENV } from '../../src/enkash-simulator/simulator';
import { createTestDatabase, sql } from '../support/db';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { spawnService, ServiceProcess } from '../support/worker-process';

const ADMIN = 'crash-test-admin-key-0123456789ab';

/**
 * The API process is SIGKILLed while it writes two 1,000-load batches (some intake transactions committed,
 * others not). A new process on the same database gets the same batches again: every load exists once.
 */
describe('bulk intake across a crash of the API process', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let c: Client;
  const procs: ServiceProcess[] = [];
  const start = async () => {
    const p = await spawnService({
      DATABASE_URL: db.url,
      ROLE: 'api',
      ADMIN_API_KEY: ADMIN,
      RATE_LIMIT_PER_MINUTE: '1000000',
      ...UNREACHABLE_ENKASH_ENV,
    });
    procs.push(p);
    return { p, url: /listening on (\S+)/.exec(p.output())![1] };
  };
  const send = (url: string, loads: unknown[]) =>
    fetch(`${url}/v1/card-loads/batch`, {
      method: 'POST',
      body: JSON.stringify({ loads }),
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    });
  const count = async () => (await c.query(`SELECT count(*)::int AS n FROM card_loads`)).rows[0].n as number;

  beforeAll(async () => {
    db = await createTestDatabase();
    c = await sql(db.url);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await c.end();
    await db.drop();
  });

  it('should create every load exactly once when the same batches are sent again after the crash', async () => {
    const batch = (n: number) =>
      Array.from({ length: 1000 }, (_, i) => ({
        idempotencyKey: `payroll-${n}-${i}`,
        enKashCardId: `EKCCR${String(i % 50).padStart(5, '0')}`,
        amount: '12.34',
      }));
    const batches = [batch(1), batch(2)];
    const first = await start();
    const lost = batches.map((b) =>
      send(first.url, b).then(
        (r) => r.status,
        () => 'connection lost',
      ),
    );
    while ((await count()) === 0) await new Promise((r) => setTimeout(r, 2));
    await first.p.kill('SIGKILL');
    const committedBeforeCrash = await count();
    expect(await Promise.all(lost)).toContain('connection lost');
    expect(committedBeforeCrash).toBeGreaterThan(0);
    expect(committedBeforeCrash).toBeLessThan(2000); // the crash really came mid-request

    const second = await start();
    type Results = { results: Array<{ status: number }> };
    const answers = await Promise.all(batches.map(async (b) => ((await (await send(second.url, b)).json()) as Results).results));
    const statuses = answers.flat().map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(committedBeforeCrash); // replayed: written before the crash
    expect(statuses.filter((s) => s === 201)).toHaveLength(2000 - committedBeforeCrash);
    expect(await count()).toBe(2000);
    const perKey = await c.query(
      `SELECT count(DISTINCT idempotency_key)::int AS keys, count(DISTINCT journal_transaction_id)::int AS txs FROM card_loads`,
    );
    expect(perKey.rows[0]).toEqual({ keys: 2000, txs: 2000 });
    const balance = await c.query(`SELECT sum(pending_credits)::text AS s FROM accounts WHERE code LIKE 'card:%'`);
    expect(balance.rows[0].s).toBe(String(2000 * 1234));
    expectNoViolations(await ledgerViolations(c));
  });
});
