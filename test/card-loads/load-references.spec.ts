import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, revertLastMigration, runMigrations } from '../../src/database/data-source';
import { MIGRATIONS } from '../../src/database/migrations';
import { useTestApp } from '../support/app';
import { asOwner, createTestDatabase, sql } from '../support/db';
import { databaseRefusal } from '../support/refusals';

/**
 * Invariant 11 for what a card load writes beyond the journal (migration 1765480000000, docs/design.md): its events and
 * its outbox job name the load, its unsealed and seal rows name their journal transaction, a resolution names its
 * pending transfer. Statement triggers check these instead of foreign keys, and refuse with the keys' SQLSTATE and names.
 */
describe('references a card load writes, checked once per statement', () => {
  const ctx = useTestApp();
  const nowhere = '00000000-0000-4000-8000-0000000000ee';
  let load: { id: string; journalTransactionId: string };

  beforeAll(async () => {
    const r = await ctx.app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: 'EKCREF0001', amount: '5.00', cardAccountId: 'CAREFS' },
      headers: { 'idempotency-key': 'refs-1' },
    });
    expect(r.status).toBe(201);
    const [row] = (await ctx.db.query(`SELECT id, journal_transaction_id FROM card_loads WHERE id = $1`, [r.body.id])).rows;
    load = { id: row.id, journalTransactionId: row.journal_transaction_id };
  });

  it('should refuse a load event or a sync job naming a load that does not exist, alone or among real ones', async () => {
    const events = (ids: string[]) =>
      ctx.db.query(
        `INSERT INTO load_events (load_id, type, outcome, actor) SELECT id, 'note', 'pending', 'test' FROM unnest($1::uuid[]) id`,
        [ids],
      );
    expect(await databaseRefusal(events([nowhere]))).toBe('23503 load_events_load_id_fkey');
    expect(await databaseRefusal(events([load.id, nowhere, load.id]))).toBe('23503 load_events_load_id_fkey');
    expect(await databaseRefusal(events([load.id]))).toBe('written');
    expect(await databaseRefusal(ctx.db.query(`INSERT INTO sync_jobs (load_id) VALUES ($1)`, [nowhere]))).toBe(
      '23503 sync_jobs_load_id_fkey',
    );
    expect((await ctx.db.query(`SELECT count(*)::int AS n FROM load_events WHERE load_id = $1`, [nowhere])).rows[0].n).toBe(0);
  });

  it('should refuse an unsealed row, a seal or a resolution naming a journal transaction that does not exist', async () => {
    expect(await databaseRefusal(ctx.db.query(`INSERT INTO journal_unsealed (transaction_id) VALUES ($1)`, [nowhere]))).toBe(
      '23503 journal_unsealed_transaction_id_fkey',
    );
    const seal = ctx.db.query(
      `INSERT INTO journal_seals (seq, transaction_id, content_hash, prev_hash, hash, mac)
       VALUES ((SELECT coalesce(max(seq), 0) + 1000 FROM journal_seals), $1, $2, $2, $2, $2)`,
      [nowhere, randomBytes(32)],
    );
    expect(await databaseRefusal(seal)).toBe('23503 journal_seals_transaction_id_fkey');
    // A resolution (its entries balanced, so that only the reference is wrong) and an undo, each naming nothing.
    const [card, parent] = (
      await ctx.db.query(`SELECT id FROM accounts WHERE code IN ('card:EKCREF0001', 'parent:CAREFS') ORDER BY code`)
    ).rows.map((r) => r.id);
    const transfer = (columns: string, values: string) =>
      ctx.db.query(
        `WITH t AS (INSERT INTO journal_transactions (id, ${columns})
                    VALUES ('00000000-0000-4000-8000-0000000000e1', ${values}) RETURNING id)
         INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
         SELECT t.id, a, d, 100, 'INR' FROM t, unnest($1::bigint[], $2::text[]) AS x(a, d)`,
        [
          [parent, card],
          ['debit', 'credit'],
        ],
      );
    expect(await databaseRefusal(transfer('kind, pending_id', `'void_pending', '${nowhere}'`))).toBe(
      '23503 journal_transactions_pending_id_fkey',
    );
    expect(await databaseRefusal(transfer('kind, undoes_id', `'posted', '${nowhere}'`))).toBe('23503 journal_transactions_undoes_id_fkey');
    expect(
      (await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions WHERE id = '00000000-0000-4000-8000-0000000000e1'`)).rows[0]
        .n,
    ).toBe(0);
  });

  it('should keep what a row names from changing, and card loads from being truncated', async () => {
    // The job's other columns change as before (claims, fences); only the load it names may not.
    expect(
      await databaseRefusal(
        ctx.db.query(`UPDATE sync_jobs SET load_id = load_id, updated_at = clock_timestamp() WHERE load_id = $1`, [load.id]),
      ),
    ).toBe('written');
    expect(await databaseRefusal(ctx.db.query(`UPDATE sync_jobs SET load_id = $2 WHERE load_id = $1`, [load.id, nowhere]))).toMatch(
      /^P0001 sync_jobs\.load_id: the row it names cannot change/,
    );
    // An unsealed row, held by a transaction of its own so that the sealer cannot take it first: written again if the
    // sealer took it already, locked if it is still there (DO NOTHING would leave it to the sealer's DELETE meanwhile).
    await ctx.db.query('BEGIN');
    try {
      await ctx.db.query(
        `INSERT INTO journal_unsealed (transaction_id) VALUES ($1)
         ON CONFLICT (transaction_id) DO UPDATE SET created_at = journal_unsealed.created_at`,
        [load.journalTransactionId],
      );
      expect(
        await databaseRefusal(
          ctx.db.query(`UPDATE journal_unsealed SET transaction_id = $2 WHERE transaction_id = $1`, [load.journalTransactionId, nowhere]),
        ),
      ).toMatch(/^P0001 journal_unsealed\.transaction_id: the row it names cannot change/);
    } finally {
      await ctx.db.query('ROLLBACK');
    }
    expect(await databaseRefusal(ctx.db.query(`UPDATE card_loads SET id = $2 WHERE id = $1`, [load.id, nowhere]))).toMatch(
      /^P0001 .*immutable/,
    );
    // Without CASCADE, the keys that stay (webhook deliveries, reconciliation findings) refuse it; with it, the trigger.
    expect(await databaseRefusal(ctx.db.query('TRUNCATE card_loads CASCADE'))).toMatch(/^P0001 .*card_loads is append-only/);
    expect((await ctx.db.query(`SELECT count(*)::int AS n FROM load_events WHERE load_id = $1`, [load.id])).rows[0].n).toBeGreaterThan(0);
  });
});

describe('migration 1765480000000 undone on a ledger holding a row written around its triggers', () => {
  let url: string;
  let drop: () => Promise<void>;
  let c: Client;
  const nowhere = '00000000-0000-4000-8000-0000000000ef';
  /** This migration and any later one: the later ones are undone first, so the test holds when migrations are added. */
  const fromThis = MIGRATIONS.slice(MIGRATIONS.findIndex((m) => m.name.startsWith('LoadReferencesCheckedPerStatement'))).map((m) => m.name);
  const undo = async (transaction: 'each' | 'none') => {
    const ds = new DataSource(dataSourceOptions(url, 2));
    await ds.initialize();
    try {
      await ds.undoLastMigration({ transaction });
    } finally {
      await ds.destroy();
    }
  };
  const keys = async () =>
    (
      await c.query(`SELECT conname, convalidated FROM pg_constraint WHERE conname IN
        ('load_events_load_id_fkey', 'sync_jobs_load_id_fkey', 'journal_transactions_pending_id_fkey') ORDER BY 1`)
    ).rows.map((r) => `${r.conname}:${r.convalidated}`);

  beforeAll(async () => {
    const db = await createTestDatabase();
    url = db.url;
    drop = () => db.drop();
    c = await sql(url);
    for (const later of fromThis.slice(1).reverse()) expect(await revertLastMigration(url)).toBe(later);
  });
  afterAll(async () => {
    await c.end();
    await drop();
  });

  it('should stop at the validation, keep checking new rows, and finish when run again once the row is dealt with', async () => {
    await asOwner(c, [[`INSERT INTO load_events (load_id, type, outcome, actor) VALUES ($1, 'note', 'pending', 'owner')`, [nowhere]]]);
    // In one transaction (TypeORM's default), nothing of it stays.
    await expect(undo('each')).rejects.toMatchObject({ code: '23503' });
    expect(await keys()).toEqual([]);
    await expect(undo('none')).rejects.toMatchObject({ code: '23503' });
    // Step by step (the migration's own transactions), it stops half-way: the keys are back, not validated, and already
    // refuse a new row naming nothing.
    expect(await keys()).toEqual([
      'journal_transactions_pending_id_fkey:false',
      'load_events_load_id_fkey:false',
      'sync_jobs_load_id_fkey:false',
    ]);
    await expect(c.query(`INSERT INTO sync_jobs (load_id) VALUES ($1)`, [nowhere])).rejects.toMatchObject({
      code: '23503',
      constraint: 'sync_jobs_load_id_fkey',
    });
    await asOwner(c, [[`DELETE FROM load_events WHERE load_id = $1`, [nowhere]]]);
    await undo('none');
    expect(await keys()).toEqual([
      'journal_transactions_pending_id_fkey:true',
      'load_events_load_id_fkey:true',
      'sync_jobs_load_id_fkey:true',
    ]);
    expect(
      (await c.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE '%\\_references' OR tgname = 'card_loads_no_truncate'`))
        .rows[0].n,
    ).toBe(0);
    // And up again.
    expect(await runMigrations(url)).toEqual(fromThis);
    expect(await keys()).toEqual([]);
  });
});
