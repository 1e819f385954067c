import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { AuditVerifierService } from '../../src/ledger/audit-verifier.service';
import { LedgerArchiveService } from '../../src/ledger/partitions/ledger-archive.service';
import { PartitionMaintenance } from '../../src/ledger/partitions/partition-maintenance';
import { LedgerService } from '../../src/ledger/ledger.service';
import { SealerService } from '../../src/ledger/sealer.service';
import { TestAppContext, useTestApp } from '../support/app';

/*
 * Adversarial review of the `partition` branch (review-partition). Each test states an invariant the branch should
 * keep; it fails on the branch as built.
 */
const ms = (iso: string) => String(new Date(iso).getTime());

async function openAccounts(db: Client, at: string, codes: string[]): Promise<Map<string, string>> {
  await db.query('BEGIN');
  await db.query(`SELECT set_config('card_ledger.moment', $1, true)`, [ms(at)]);
  const rows = (
    await db.query(
      `INSERT INTO accounts (code, currency, normal_side) SELECT c, 'INR', CASE WHEN c LIKE 'external:%' THEN 'debit' ELSE 'credit' END
       FROM unnest($1::text[]) c RETURNING id, code`,
      [codes],
    )
  ).rows;
  await db.query('COMMIT');
  return new Map(rows.map((r) => [r.code, r.id]));
}

/** A transfer written as the ledger writes one, at a fixed moment; `pending` moves pending balances only. */
async function transferAt(db: Client, at: string, debit: string, credit: string, amount: number, kind: 'posted' | 'pending' = 'posted') {
  const tx = randomUUID();
  const [lo, hi] = [debit, credit].sort((a, b) => Number(a) - Number(b));
  const dr = (id: string) => (id === debit ? amount : 0);
  const cr = (id: string) => (id === credit ? amount : 0);
  const zero = [0, 0];
  await db.query('BEGIN');
  await db.query(`SELECT set_config('card_ledger.moment', $1, true)`, [ms(at)]);
  await db.query(
    `WITH t AS (INSERT INTO journal_transactions (id, kind, description) VALUES ($1, $5, 'review') RETURNING id, created_at),
          e AS (INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
                VALUES ($1, $2, 'debit', $4, 'INR'), ($1, $3, 'credit', $4, 'INR'))
     INSERT INTO journal_unsealed (transaction_id, created_at) SELECT id, created_at FROM t`,
    [tx, debit, credit, amount, kind],
  );
  const p = kind === 'pending';
  await db.query(
    `SELECT ledger_apply_deltas(ARRAY[$1, $1]::uuid[], ARRAY['journal', 'journal'], ARRAY[NULL, NULL]::uuid[], ARRAY[$2, $3]::bigint[],
       $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])`,
    [tx, lo, hi, p ? [dr(lo), dr(hi)] : zero, p ? [cr(lo), cr(hi)] : zero, p ? zero : [dr(lo), dr(hi)], p ? zero : [cr(lo), cr(hi)]],
  );
  await db.query('COMMIT');
  return tx;
}

describe('partition review', () => {
  const ctx: TestAppContext = useTestApp();
  const now = new Date();
  const m0 = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1));
  const month = (k: number, day = 1) => new Date(Date.UTC(m0.getUTCFullYear(), m0.getUTCMonth() + k, day)).toISOString();
  let ids: Map<string, string>;
  let pendingTx: string;
  let liveTx: string;

  beforeAll(async () => {
    const { db, app } = ctx;
    // As partition-archive.spec.ts: the partitions remade as if the ledger had run for months.
    for (const t of ['journal_entries', 'account_history']) {
      await db.query(`ALTER TABLE ${t} DETACH PARTITION ${t}_legacy`);
      await db.query(`DROP TABLE ${t}_legacy`);
      for (const p of (await db.query(`SELECT part FROM ledger_partitions() WHERE parent = $1`, [t])).rows) {
        await db.query(`ALTER TABLE ${t} DETACH PARTITION ${p.part}`);
        await db.query(`DROP TABLE ${p.part}`);
      }
      await db.query(`CREATE TABLE ${t}_early PARTITION OF ${t} FOR VALUES FROM (MINVALUE) TO ('${month(0)}')`);
      await db.query(`SELECT ledger_partition_triggers($1, $2)`, [t, `${t}_early`]);
    }
    await app.app.get(PartitionMaintenance).run();
    ids = await openAccounts(db, month(0, 2), ['external:rev', 'wallet:REV01']);
    const [fund, card] = [ids.get('external:rev')!, ids.get('wallet:REV01')!];
    await transferAt(db, month(0, 5), fund, card, 10_000);
    // A load authorised (pending) late in a month and not yet settled when that month is archived.
    pendingTx = await transferAt(db, month(0, 28), fund, card, 700, 'pending');
    liveTx = await transferAt(db, month(2, 3), fund, card, 5);
    await app.app.get(SealerService).sealPending();
  });

  it('money: a pending transfer open in an archived month can still be settled (or the month is not archived)', async () => {
    const { db, app } = ctx;
    const archive = app.app.get(LedgerArchiveService);
    await archive.archiveOldest({ olderThanMonths: 3 }); // [MINVALUE, m0): empty
    const archived = await archive.archiveOldest({ olderThanMonths: 2 }).then(
      () => true,
      (e: Error) => (console.log('archive refused:', e.message), false),
    );
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
      archived,
      resolved: true,
      card: { pc: 0, sc: 10_705 },
      emptyTransactions: 0,
    });
  });

  it('money: a posted transfer whose month is archived can still be undone (a chargeback months later)', async () => {
    const { app } = ctx;
    const ledger = app.app.get(LedgerService);
    const [posted] = (
      await ctx.db.query(`SELECT id FROM journal_transactions WHERE kind = 'posted' AND created_at < $1 LIMIT 1`, [month(1)])
    ).rows;
    const undo = await app.ds
      .transaction((m) => ledger.undoPosted(m, posted.id, 'load_undone', null, 'review: undo of an archived load'))
      .then(
        () => 'undone',
        (e: Error) => `${e.constructor.name}: ${e.message}`,
      );
    expect(undo).toBe('undone');
  });

  it('audit truth: moving the archive point (ledger_archives.hi) does not hide a rewritten live transaction', async () => {
    const { db, app } = ctx;
    const verifier = app.app.get(AuditVerifierService);
    await app.app.get(SealerService).sealPending();
    const base = await verifier.verify();
    // A live transaction's description rewritten (content hash covers it; no invariant check does).
    await db.query(`SET session_replication_role = replica`);
    await db.query(`UPDATE journal_transactions SET description = 'rewritten' WHERE id = $1`, [liveTx]);
    await db.query(`SET session_replication_role = origin`);
    expect(await verifier.verify()).toMatchObject({ ok: false, brokenAt: liveTx }); // caught, as it should be
    // ledger_archives has no append-only guard: an UPDATE (no trigger to disable) moves the point past the rewrite.
    await db.query(`UPDATE ledger_archives SET hi = $1 WHERE hi = (SELECT max(hi) FROM ledger_archives)`, [month(2, 4)]);
    const r = await verifier.verify();
    expect({ base: base.ok, ok: r.ok, archivedUnchecked: r.archivedUnchecked }).toMatchObject({ ok: false });
  });

  it("performance: a lookup of one transaction's entries reads one partition, not every attached month", async () => {
    const { db } = ctx;
    // The form used by journal_entries_check_balanced (every write), ledger_resolve_pending (every settlement, 3x)
    // and JournalStore.entries: by transaction_id only, no partition key.
    const parts = (await db.query(`SELECT count(*)::int AS n FROM ledger_partitions() WHERE parent = 'journal_entries'`)).rows[0].n;
    await db.query(`PREPARE q(uuid) AS SELECT count(*) FROM journal_entries e WHERE e.transaction_id = $1`);
    await db.query(`SET plan_cache_mode = force_generic_plan`);
    const plan = (await db.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE q('${liveTx}')`)).rows
      .map((r) => r['QUERY PLAN'] as string)
      .join('\n');
    await db.query(`RESET plan_cache_mode; DEALLOCATE q`);
    const scanned = (plan.match(/Index (Only )?Scan/g) ?? []).length;
    expect({ attached: parts, scanned }).toEqual({ attached: parts, scanned: 1 });
  });

  it('audit truth: ledger_archives is not append-only, so one DELETE (the app role has it) turns 410s into partial balances', async () => {
    const { db, app } = ctx;
    const path = `/v1/accounts/wallet:REV01?asOf=${month(0, 20)}`;
    expect((await app.api('GET', path)).status).toBe(410);
    await db.query(`DELETE FROM ledger_archives`); // no trigger to switch off; GRANT … DELETE ON ALL TABLES (embedded-roles.ts)
    await new Promise((r) => setTimeout(r, 1500)); // ArchivePoint's cache
    const r = await app.api('GET', path);
    expect([r.status, r.body?.error?.code ?? r.body]).toEqual([410, 'range_archived']);
  });
});
