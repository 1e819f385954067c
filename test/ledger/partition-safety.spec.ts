import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { AuditVerifierService } from '../../src/ledger/audit-verifier.service';
import { ArchiveRefused, LedgerArchiveService } from '../../src/ledger/partitions/ledger-archive.service';
import { TransferArchivedError } from '../../src/ledger/ledger.errors';
import { PartitionMaintenance } from '../../src/ledger/partitions/partition-maintenance';
import { LedgerService } from '../../src/ledger/ledger.service';
import { SealerService } from '../../src/ledger/sealer.service';
import { TestAppContext, useTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { ledgerMonth as month, openAccounts, remakePartitionsFrom, TRANSFER_AT_DESCRIPTION, transferAt } from '../support/ledger-at';

/*
 * The cases an adversarial review of the partitioning found broken, kept as the contract they now hold: money
 * (pending and undone transfers of an archived month), audit truth (the archive point and its table), pruning.
 */
describe('partitions and the archive: money, audit truth, pruning', () => {
  const ctx: TestAppContext = useTestApp();
  const now = new Date();
  let ids: Map<string, string>;
  let pendingTx: string;
  let liveTx: string;
  let laterTx: string;

  beforeAll(async () => {
    const { db, app } = ctx;
    // As partition-archive.spec.ts: the partitions remade as if the ledger had run for months.
    await remakePartitionsFrom(db, month(0));
    await app.app.get(PartitionMaintenance).run();
    ids = await openAccounts(db, month(0, 2), ['external:rev', 'wallet:REV01']);
    const [fund, card] = [ids.get('external:rev')!, ids.get('wallet:REV01')!];
    await transferAt(db, month(0, 5), fund, card, 10_000);
    laterTx = await transferAt(db, month(0, 6), fund, card, 300);
    // A load authorised (pending) late in a month and not yet settled when that month is archived.
    pendingTx = await transferAt(db, month(0, 28), fund, card, 700, 'pending');
    liveTx = await transferAt(db, month(2, 3), fund, card, 5);
    await app.app.get(SealerService).sealPending();
  });

  it('money: a month holding a pending transfer not yet posted/voided is not archived; once settled it is', async () => {
    const { db, app } = ctx;
    const archive = app.app.get(LedgerArchiveService);
    await archive.archiveOldest({ olderThanMonths: 3 }); // [MINVALUE, month 0): empty
    // The operator's command: refused, exit 1, the transfer named.
    const cli = await runCli(['archive', '--older-than', '2'], { DATABASE_URL: app.databaseUrl, DATA_DIR: app.config.dataDir });
    expect([cli.code, cli.stderr]).toEqual([1, expect.stringMatching(new RegExp(`^error: .*pending transfer.*${pendingTx}`))]);
    const refused = await archive.archiveOldest({ olderThanMonths: 2 }).then(
      () => null,
      (e: Error) => e,
    );
    expect(refused).toBeInstanceOf(ArchiveRefused);
    expect(refused?.message).toContain(pendingTx);
    // Nothing detached: the month is still attached and unrecorded.
    expect((await db.query(`SELECT count(*)::int AS n FROM ledger_archives WHERE hi > $1`, [month(0)])).rows[0].n).toBe(0);
    expect((await db.query(`SELECT count(*)::int AS n FROM journal_entries WHERE transaction_id = $1`, [pendingTx])).rows[0].n).toBe(2);
    const resolve = async () => {
      await db.query('BEGIN');
      try {
        await db.query(
          `SELECT * FROM ledger_resolve_pending(ARRAY[$1]::uuid[], ARRAY['post_pending'], ARRAY['journal'],
             ARRAY[NULL]::uuid[], ARRAY[$2]::uuid[])`,
          [pendingTx, randomUUID()],
        );
        await db.query('COMMIT');
        return true;
      } catch (e) {
        console.log('resolve refused:', (e as Error).message);
        await db.query('ROLLBACK');
        return false;
      }
    };
    const resolved = await resolve();
    const archived = await archive.archiveOldest({ olderThanMonths: 2 }).then(
      () => true,
      (e: Error) => (console.log('archive refused:', e.message), false),
    );
    const [card] = (
      await db.query(`SELECT pending_credits::int AS pc, posted_credits::int AS sc FROM accounts WHERE code = 'wallet:REV01'`)
    ).rows;
    const empty = (
      await db.query(
        `SELECT t.id FROM journal_transactions t WHERE t.created_at >= $1
                        AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.transaction_id = t.id)`,
        [month(1)],
      )
    ).rows;
    // Either the archive refused the month (a pending transfer is open in it) or the settlement still works: the
    // pending 7.00 must be postable. On the branch the month is archived and the settlement is refused forever.
    expect({ archived, resolved, card, emptyTransactions: empty.length }).toEqual({
      archived: true,
      resolved: true,
      card: { pc: 0, sc: 11_005 },
      emptyTransactions: 0,
    });
  });

  it('money: a posted transfer whose month is archived can still be undone (a chargeback months later)', async () => {
    const { app } = ctx;
    const ledger = app.app.get(LedgerService);
    const [posted] = (
      await ctx.db.query(`SELECT id FROM journal_transactions WHERE kind = 'posted' AND created_at < $1 AND id <> $2 LIMIT 1`, [
        month(1),
        laterTx,
      ])
    ).rows;
    const undoOf = (id: string) =>
      app.ds
        .transaction((m) => ledger.undoPosted(m, id, 'load_undone', null, 'review: undo of an archived load'))
        .then(
          () => 'undone',
          (e: Error) => e,
        );
    // The month's table is still in ledger_archive: the entries are read from it.
    expect(await undoOf(posted.id)).toBe('undone');
    const [undo] = (
      await ctx.db.query(
        `SELECT string_agg(e.direction || ':' || e.amount, ',' ORDER BY e.direction) AS e FROM journal_transactions t
         JOIN journal_entries e ON e.transaction_id = t.id WHERE t.undoes_id = $1`,
        [posted.id],
      )
    ).rows;
    expect(undo.e).toBe('credit:10000,debit:10000');
    // The table dumped and dropped (here: renamed away): a typed 409 naming it, nothing written.
    const [{ entries_table: table }] = (await ctx.db.query(`SELECT entries_table FROM ledger_archives WHERE hi = $1`, [month(1)])).rows;
    await ctx.db.query(`ALTER TABLE ${table} RENAME TO away`);
    try {
      const e = await undoOf(laterTx);
      expect(e).toBeInstanceOf(TransferArchivedError);
      expect([(e as TransferArchivedError).status, (e as Error).message]).toEqual([409, expect.stringContaining(table)]);
      expect((await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions WHERE undoes_id = $1`, [laterTx])).rows[0].n).toBe(0);
    } finally {
      await ctx.db.query(`ALTER TABLE ledger_archive.away RENAME TO ${table.replace('ledger_archive.', '')}`);
    }
  });

  it('audit truth: moving the archive point (ledger_archives.hi) does not hide a rewritten live transaction', async () => {
    const { db, app } = ctx;
    const verifier = app.app.get(AuditVerifierService);
    // The chain's findings only (the rows of the transactions they name).
    const chainFindings = (r: { findings: Array<{ check: string; row: string }> }) =>
      r.findings.filter((f) => f.check === 'chain').map((f) => f.row);
    await app.app.get(SealerService).sealPending();
    const base = await verifier.verify();
    // A live transaction's description rewritten (content hash covers it; no invariant check does).
    await db.query(`SET session_replication_role = replica`);
    await db.query(`UPDATE journal_transactions SET description = 'rewritten' WHERE id = $1`, [liveTx]);
    await db.query(`SET session_replication_role = origin`);
    expect(await verifier.verify()).toMatchObject({ ok: false, brokenAt: liveTx }); // caught, as it should be
    // ledger_archives' guard refuses the UPDATE; a superuser switching triggers off moves the point past the rewrite.
    const move = `UPDATE ledger_archives SET hi = $1 WHERE hi = (SELECT max(hi) FROM ledger_archives)`;
    await expect(db.query(move, [month(2, 4)])).rejects.toThrow(/append-only/);
    await db.query(`SET session_replication_role = replica`);
    await db.query(move, [month(2, 4)]);
    await db.query(`SET session_replication_role = origin`);
    const r = await verifier.verify();
    expect({ base: base.ok, ok: r.ok, archivedUnchecked: r.archivedUnchecked }).toMatchObject({ ok: false });
    expect(r.findings.map((f) => f.row)).toContain(liveTx);
    // The anchor moved along with it (the rewritten transaction's own seal, copied): the pin holds, and the live
    // rows are still recomputed, so the rewrite is still found.
    await db.query(`SET session_replication_role = replica`);
    await db.query(
      `UPDATE ledger_archives a SET last_seal_seq = s.seq, last_seal_hash = s.hash FROM journal_seals s
       WHERE s.transaction_id = $1 AND a.hi = $2`,
      [liveTx, month(2, 4)],
    );
    await db.query(`SET session_replication_role = origin`);
    expect(await verifier.verify()).toMatchObject({ ok: false, brokenAt: liveTx });
    // Put back: the later specs read the real point.
    await db.query(`SET session_replication_role = replica`);
    await db.query(
      `UPDATE ledger_archives a SET hi = $1, last_seal_seq = s.seq, last_seal_hash = s.hash FROM journal_seals s
       WHERE s.transaction_id = $3 AND a.hi = $2`,
      [month(1), month(2, 4), pendingTx],
    );
    await db.query(`UPDATE journal_transactions SET description = $2 WHERE id = $1`, [liveTx, TRANSFER_AT_DESCRIPTION]);
    await db.query(`SET session_replication_role = origin`);
    expect(chainFindings(await verifier.verify())).toEqual([]);
    // A live transaction's entries removed and the point moved past it (anchor left): without the pin, its seal's
    // own hash would stand in for the "archived" content. The seal after the anchor is before the point: caught.
    await db.query(`SET session_replication_role = replica`);
    await db.query(`CREATE TEMP TABLE kept AS SELECT * FROM journal_entries WHERE transaction_id = $1`, [liveTx]);
    await db.query(`DELETE FROM journal_entries WHERE transaction_id = $1`, [liveTx]);
    await db.query(move, [month(2, 4)]);
    await db.query(`SET session_replication_role = origin`);
    const pinned = await verifier.verify();
    await db.query(`SET session_replication_role = replica`);
    await db.query(`UPDATE ledger_archives SET hi = $1 WHERE hi = $2`, [month(1), month(2, 4)]);
    await db.query(`INSERT INTO journal_entries SELECT * FROM kept ORDER BY id; DROP TABLE kept`);
    await db.query(`SET session_replication_role = origin`);
    expect(chainFindings(pinned)).toEqual([liveTx]);
    expect(chainFindings(await verifier.verify())).toEqual([]);
  });

  it("performance: a lookup of one transaction's entries reads one partition, not every attached month", async () => {
    const { db } = ctx;
    // The form JournalStore.entries, ledger_resolve_pending and settlement_lock now use: the transaction's moment
    // (the partition key its entries share) joined in, so the executor prunes to one partition.
    const parts = (await db.query(`SELECT count(*)::int AS n FROM ledger_partitions() WHERE parent = 'journal_entries'`)).rows[0].n;
    await db.query(`PREPARE q(uuid) AS SELECT count(*) FROM journal_transactions t
                    JOIN journal_entries e ON e.transaction_id = t.id AND e.created_at = t.created_at WHERE t.id = $1`);
    await db.query(`SET plan_cache_mode = force_generic_plan`);
    const plan = (await db.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE q('${liveTx}')`)).rows
      .map((r) => r['QUERY PLAN'] as string)
      .join('\n');
    await db.query(`RESET plan_cache_mode; DEALLOCATE q`);
    // Scans of journal_entries' partitions that ran (runtime pruning leaves the others "never executed").
    const ran = plan.split('\n').filter((l) => !l.includes('never executed'));
    const scanned = new Set(ran.map((l) => / on (journal_entries_\w+) e_\d+/.exec(l)?.[1]).filter(Boolean)).size;
    expect({ attached: parts, scanned }).toEqual({ attached: parts, scanned: 1 });
    expect(parts).toBeGreaterThanOrEqual(4);
    // The functions on the write and settlement paths use that form (migration 1765300000000's ENTRY_LOOKUPS).
    const defs = (
      await db.query(
        `SELECT p.proname, pg_get_functiondef(p.oid) AS d FROM pg_proc p
         WHERE p.proname IN ('journal_entries_check_balanced', 'ledger_resolve_pending', 'settlement_lock') ORDER BY 1`,
      )
    ).rows.map((r) => [r.proname, (r.d.match(/\.created_at = (k|pt|lt)\.created_at/g) ?? []).length]);
    expect(defs).toEqual([
      ['journal_entries_check_balanced', 1],
      ['ledger_resolve_pending', 3],
      ['settlement_lock', 1],
    ]);
  });

  it('audit truth: ledger_archives is append-only: a DELETE is refused, an archived range stays a 410', async () => {
    const { db, app } = ctx;
    const path = `/v1/accounts/wallet:REV01?asOf=${month(0, 20)}`;
    expect((await app.api('GET', path)).status).toBe(410);
    await expect(db.query(`DELETE FROM ledger_archives`)).rejects.toThrow(/append-only/);
    await expect(db.query(`UPDATE ledger_archives SET status = 'detaching'`)).rejects.toThrow(/append-only/);
    await new Promise((r) => setTimeout(r, 1500)); // ArchivePoint's cache
    const r = await app.api('GET', path);
    expect([r.status, r.body?.error?.code ?? r.body]).toEqual([410, 'range_archived']);
  });

  it('hygiene: verify --archive of a table that is not a journal_entries table is a usage error, not a SQL error', async () => {
    const env = { DATABASE_URL: ctx.app.databaseUrl, DATA_DIR: ctx.app.config.dataDir };
    const wrong = await runCli(['verify', '--archive', 'public.accounts'], env);
    expect([wrong.code, wrong.stderr]).toEqual([
      2,
      expect.stringMatching(/^error: --archive: public\.accounts is not a journal_entries table: it lacks /),
    ]);
    const absent = await runCli(['verify', '--archive', 'ledger_archive.nothing'], env);
    expect([absent.code, absent.stderr]).toEqual([2, 'error: --archive: ledger_archive.nothing does not exist\n']);
  });

  it("hygiene: a maintenance round that cannot run warns when next month's partition is missing (as at start)", async () => {
    const { db, app } = ctx;
    const maintenance = app.app.get(PartitionMaintenance);
    const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const other = new Client({ connectionString: app.databaseUrl });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(176491)`); // another instance at it
      expect(await maintenance.run()).toBe(-1);
      expect(warn).not.toHaveBeenCalled();
      for (const p of (await db.query(`SELECT parent, part FROM ledger_partitions() WHERE lo >= $1`, [next.toISOString()])).rows) {
        await db.query(`ALTER TABLE ${p.parent} DETACH PARTITION ${p.part}`);
        await db.query(`DROP TABLE ${p.part}`);
      }
      expect(await maintenance.run()).toBe(-1);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining("next month's partition"));
      await other.query(`SELECT pg_advisory_unlock(176491)`);
      expect(await maintenance.run()).toBeGreaterThan(0);
    } finally {
      warn.mockRestore();
      await other.end();
    }
  });
});
