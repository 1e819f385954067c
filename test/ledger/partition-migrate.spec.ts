import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { MIGRATIONS } from '../../src/database/migrations';
import { AccountMoments } from '../../src/ledger/account-moments';
import { SealerService } from '../../src/ledger/sealer.service';
import { SettlementService } from '../../src/sync/settlement.service';
import { startTestApp, TestApp } from '../support/app';
import { createDatabaseAt, sql } from '../support/db';
import { postTransfer } from '../support/journal';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';

const PARTITIONING = MIGRATIONS.findIndex((m) => m.name.startsWith('PartitionJournalByMonth'));
/**
 * Later migrations that this build's code needs and that touch nothing the partitioning does: they run with the
 * previous schema, before the partitioning (TypeORM runs whatever is not recorded yet, and undoes in the order it
 * ran), so that this build's API can fill it.
 */
const INDEPENDENT = MIGRATIONS.filter((m) => ['ForkMarkedOnce', 'WorkerStatementsPlannedOnce'].some((n) => m.name.startsWith(n)));
const PREVIOUS = [...MIGRATIONS.slice(0, PARTITIONING), ...INDEPENDENT];
/** This migration and those after it (1765310000000 drops the foreign keys the partitioning carried over). */
const LATER = MIGRATIONS.slice(PARTITIONING)
  .filter((m) => !INDEPENDENT.includes(m))
  .map((m) => m.name);
const pretendLaterRan = (c: Client) =>
  c.query(`INSERT INTO migrations (timestamp, name) SELECT right(n, 13)::bigint, n FROM unnest($1::text[]) n`, [LATER]);
const forgetLater = (c: Client) => c.query(`DELETE FROM migrations WHERE name = ANY($1)`, [LATER]);

/** The checks of src/ledger/ledger-invariants.ts on a schema without the archive's table (before the migration, after down()). */
async function violationsWithoutArchive(c: Client): Promise<Record<string, unknown[]>> {
  const noCarry = `(SELECT *, NULL::timestamptz AS archived_before FROM account_history WHERE false) AS account_history_carried`;
  // Nor the moment of each account's last change (migration 1765460000000): not known.
  const unknown = (text: string) => text.replaceAll('account_history_carried', noCarry).replaceAll('a.history_at', 'NULL::timestamptz');
  return ledgerViolations({ query: (text: string) => c.query(unknown(text)) } as Pick<Client, 'query'>);
}

/** What the tables are: 'p' partitioned, 'r' plain. */
async function kinds(c: Client): Promise<Record<string, string>> {
  const rows = (
    await c.query(`SELECT relname, relkind::text FROM pg_class WHERE relname IN ('journal_entries', 'account_history')
                   AND relnamespace = 'public'::regnamespace ORDER BY 1`)
  ).rows;
  return Object.fromEntries(rows.map((r) => [r.relname, r.relkind]));
}

/**
 * Migration 1765300000000 (monthly partitions of journal_entries and account_history) on a ledger the previous
 * schema filled through the API: every invariant, the verifier, and every history and as-of read are the same after
 * it, and after its down() back to plain tables (docs/operations.md, "Partitions and archive").
 */
describe('partitioning a populated ledger (migration 1765300000000)', () => {
  let url: string;
  let drop: () => Promise<void>;
  let c: Client;
  let app: TestApp | null = null;

  beforeAll(async () => {
    ({ url, drop } = await createDatabaseAt('cl_test_partition', PREVIOUS));
    c = await sql(url);
  });
  afterAll(async () => {
    await c.end();
    await app?.close();
    await drop();
  });

  /** The auditor's reads this migration must not change, as the API answers them. */
  async function reads(t: TestApp, moments: string[]): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const card of ['EKCPART000', 'EKCPART001', 'EKCPART002']) {
      out.push((await t.api('GET', `/v1/cards/${card}/history?limit=200`)).body);
      for (const m of moments) out.push([card, m, (await t.api('GET', `/v1/cards/${card}/balance?asOf=${m}`)).body]);
    }
    for (const m of moments) {
      out.push((await t.api('GET', `/v1/accounts/parent:CAPART?asOf=${m}`)).body);
      out.push((await t.api('GET', `/v1/reports/trial-balance?asOf=${m}`)).body);
    }
    out.push((await t.api('GET', `/v1/accounts/parent:CAPART/entries?limit=500`)).body);
    out.push((await t.api('GET', `/v1/journal?limit=500&to=${moments[moments.length - 1]}`)).body);
    return out;
  }

  it('should convert, keep every answer and invariant, and go back with down()', async () => {
    // The previous schema, filled through the API of this build: its writes do not depend on partitioning (the
    // migrations gate is told the last migration ran, and is told the truth again before it runs).
    await pretendLaterRan(c);
    app = await startTestApp({}, url);
    await app.api('POST', '/v1/accounts', { body: { code: 'external:fund', currency: 'INR', normalSide: 'debit' } });
    await app.api('POST', '/v1/accounts', { body: { code: 'parent:CAPART', currency: 'INR', normalSide: 'credit' } });
    expect((await postTransfer(app, 'funding', 'external:fund', 'parent:CAPART', '1000.00')).status).toBe(201);
    const moments: string[] = [];
    for (let i = 0; i < 24; i++) {
      const load = await app.api('POST', '/v1/card-loads', {
        body: { enKashCardId: `EKCPART00${i % 3}`, amount: `${i + 1}.00`, cardAccountId: 'CAPART' },
        headers: { 'idempotency-key': `part-${i}` },
      });
      expect(load.status).toBe(201);
      if (i % 3 === 0) await app.app.get(SettlementService).settle(load.body.id, 'posted', { reason: 'test', actor: 'test' });
      else if (i % 5 === 1) await app.app.get(SettlementService).settle(load.body.id, 'reversed', { reason: 'test', actor: 'test' });
      if (i % 4 === 0) moments.push(load.body.createdAt);
    }
    await app.app.get(SealerService).sealPending();
    moments.push(new Date().toISOString());
    const before = await reads(app, moments);
    const sealed = (await c.query(`SELECT count(*)::int AS n FROM journal_seals`)).rows[0].n;
    expect(sealed).toBe((await c.query(`SELECT count(*)::int AS n FROM journal_transactions`)).rows[0].n);
    // (The verifier of this build reads the archive's table, which the previous schema has not: its checks here.)
    expectNoViolations(await violationsWithoutArchive(c));
    await app.close();
    app = null;
    await forgetLater(c);
    expect(await kinds(c)).toEqual({ account_history: 'r', journal_entries: 'r' });

    expect(await runMigrations(url)).toEqual(LATER);
    expect(await kinds(c)).toEqual({ account_history: 'p', journal_entries: 'p' });

    const parts = (await c.query(`SELECT parent, part, lo, hi FROM ledger_partitions()`)).rows;
    // The old table is the first partition (everything before next month), empty months follow for two months ahead.
    expect(parts[0]).toMatchObject({ part: 'account_history_legacy', lo: -Infinity });
    expect(parts.filter((p) => p.parent === 'journal_entries').map((p) => p.part)[0]).toBe('journal_entries_legacy');
    const ahead = new Date();
    ahead.setUTCMonth(ahead.getUTCMonth() + 2);
    expect(Math.max(...parts.map((p) => new Date(p.hi).getTime()))).toBeGreaterThan(ahead.getTime());
    expect((await c.query(`SELECT count(*)::int AS n FROM ONLY journal_entries_legacy`)).rows[0].n).toBe(
      (await c.query(`SELECT count(*)::int AS n FROM journal_entries`)).rows[0].n,
    );
    // Every index, foreign key and trigger of the old tables, on the parents (and so on every partition).
    const defs = (
      await c.query(`SELECT conrelid::regclass::text AS t, conname FROM pg_constraint
                     WHERE conrelid IN ('journal_entries'::regclass, 'account_history'::regclass) ORDER BY 1, 2`)
    ).rows.map((r) => `${r.t}.${r.conname}`);
    expect(defs).toEqual(expect.arrayContaining(['account_history.account_history_pkey', 'journal_entries.journal_entries_pkey']));
    // The foreign keys it carried over are gone with the next migration (1765310000000): the triggers check references.
    expect(defs.filter((d) => d.endsWith('_fkey'))).toEqual([]);
    const triggers = (
      await c.query(`SELECT tgrelid::regclass::text || '.' || tgname AS t FROM pg_trigger
                     WHERE tgrelid IN ('journal_entries'::regclass, 'account_history'::regclass) AND NOT tgisinternal ORDER BY 1`)
    ).rows.map((r) => r.t);
    expect(triggers).toEqual([
      'account_history.account_history_append_only',
      'account_history.account_history_chain',
      'account_history.account_history_no_truncate',
      'journal_entries.journal_entries_append_only',
      'journal_entries.journal_entries_balanced',
      'journal_entries.journal_entries_no_truncate',
    ]);

    app = await startTestApp({}, url);
    expect(await reads(app, moments)).toEqual(before);
    // The accounts moved before migration 1765460000000 are dated in the background (AccountMoments, also at start):
    // once it has run, none is left undated, and the answers are the same (the checks compare the moments).
    await app.app.get(AccountMoments).run();
    expect((await c.query(`SELECT count(*)::int AS n FROM accounts WHERE history_seq > 0 AND history_at IS NULL`)).rows[0].n).toBe(0);
    expect((await c.query(`SELECT count(*)::int AS n FROM accounts WHERE history_seq > 0`)).rows[0].n).toBeGreaterThan(3);
    expect(await reads(app, moments)).toEqual(before);
    expect((await app.api('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true, checkedTransactions: sealed, findings: [] });
    expectNoViolations(await ledgerViolations(c));
    // The ledger goes on: a load and its settlement after the conversion, sealed and verified with the rest.
    const later = await app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: 'EKCPART000', amount: '7.00', cardAccountId: 'CAPART' },
      headers: { 'idempotency-key': 'part-after' },
    });
    expect(later.status).toBe(201);
    await app.app.get(SettlementService).settle(later.body.id, 'posted', { reason: 'test', actor: 'test' });
    await app.app.get(SealerService).sealPending();
    expect((await app.api('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true, checkedTransactions: sealed + 2, findings: [] });
    expectNoViolations(await ledgerViolations(c));
    const after = await reads(app, moments.slice(0, -1));
    await app.close();
    app = null;

    // down(): plain tables again, the same rows and answers, and up() once more.
    const ds = new DataSource(dataSourceOptions(url, 2));
    await ds.initialize();
    for (let i = 0; i < LATER.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    await ds.destroy();
    expect(await kinds(c)).toEqual({ account_history: 'r', journal_entries: 'r' });
    expectNoViolations(await violationsWithoutArchive(c));
    await pretendLaterRan(c);
    app = await startTestApp({}, url);
    expect(await reads(app, moments.slice(0, -1))).toEqual(after);
    await app.close();
    app = null;
    await forgetLater(c);
    expect(await runMigrations(url)).toEqual(LATER);
    expect(await kinds(c)).toEqual({ account_history: 'p', journal_entries: 'p' });

    expectNoViolations(await ledgerViolations(c));
  });
});
