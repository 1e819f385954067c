import { Logger } from '@nestjs/common';
import { historyView } from '../../src/cards/card-history.view';
import { Instant, parseInstant } from '../../src/common/instant';
import { inTransaction } from '../../src/database/transaction';
import { HistoryPageQuery, JournalStore } from '../../src/ledger/journal.store';
import { LedgerService } from '../../src/ledger/ledger.service';
import { monthsAfter } from '../../src/ledger/partitions/partition-maintenance';
import { useTestApp } from '../support/app';
import { asOwner, sql } from '../support/db';

const CARD = 'card:EKCPLAN001';
const tick = () => new Promise((r) => setTimeout(r, 3)); // moments at least a millisecond apart
const instant = (iso: string): Instant => parseInstant('at', iso)!;
const ISO_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/**
 * The history page and the balance as of a moment are functions since migration 1765490000000 (docs/design.md, "The
 * auditor's reads planned once"): one kept plan, the optional bounds of a page folded into ranges. Each must answer
 * exactly what the SQL it replaced answers, which is still the read while the migration has not run.
 */
describe('the auditor’s reads as functions', () => {
  const ctx = useTestApp();
  const warn = jest.spyOn(Logger.prototype, 'warn');
  afterAll(() => warn.mockRestore());
  const warned = (message: RegExp) => warn.mock.calls.filter(([m]) => message.test(String(m))).length;
  let store: JournalStore;
  let accountId: string;
  // Each history row's moment to the microsecond, the microsecond before it and the one after it.
  let moments: Array<{ at: string; before: string; after: string }>;
  // The replaced SQL, which the store still sends while the functions are missing.
  const pageAsSql = (f: HistoryPageQuery) => store['historyPageAsSql'](f);
  const atAsSql = async (cut: Instant, carried: boolean) => (await store['historyAtAsSql'](accountId, cut, carried))[0] ?? null;

  beforeAll(async () => {
    store = ctx.app.app.get(JournalStore);
    const ledger = ctx.app.app.get(LedgerService);
    const accounts = await inTransaction(ctx.app.ds, (m) =>
      ledger.ensureAccounts(m, [
        { code: 'parent:CAPLAN', currency: 'INR', normalSide: 'credit' },
        { code: CARD, currency: 'INR', normalSide: 'credit' },
      ]),
    );
    accountId = accounts.get(CARD)!.id;
    const pending = (amount: bigint) =>
      inTransaction(ctx.app.ds, (m) =>
        ledger.createTransfer(m, {
          kind: 'pending',
          event: 'load_pending',
          description: `load of ${amount}`,
          entries: [
            { accountCode: 'parent:CAPLAN', direction: 'debit', amount, currency: 'INR' },
            { accountCode: CARD, direction: 'credit', amount, currency: 'INR' },
          ],
        }),
      );
    // Eleven changes: loads, posts, a void and an undo, each at its own moment.
    for (let i = 1; i <= 4; i++) {
      await tick();
      const t = await pending(BigInt(i * 1_000));
      await tick();
      if (i === 3) await inTransaction(ctx.app.ds, (m) => ledger.voidPending(m, t.id, 'load_reversed', null));
      else {
        const posted = await inTransaction(ctx.app.ds, (m) => ledger.postPending(m, t.id, 'load_posted', null));
        if (i === 2) {
          await tick();
          await inTransaction(ctx.app.ds, (m) => ledger.undoPosted(m, posted.id, 'load_undone', null, 'undone'));
        }
      }
    }
    await tick();
    await pending(500n);
    await tick();
    await pending(700n);
    // Four rows in the next two months' partitions (written around the triggers): pages and cuts across months.
    await ctx.db.query(`SELECT ledger_ensure_partitions($1)`, [monthsAfter(new Date(), 3).toISOString()]);
    const {
      rows: [last],
    } = await ctx.db.query(`SELECT * FROM account_history WHERE account_id = $1 ORDER BY seq DESC LIMIT 1`, [accountId]);
    const now = new Date();
    const later = [1, 1, 2, 2].map((n, i) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + n, 10 + i, 12)));
    await asOwner(
      ctx.db,
      later.map((at, i): [string, unknown[]] => [
        `INSERT INTO account_history (account_id, seq, event, at, d_pending_credits, pending_debits, pending_credits,
           posted_debits, posted_credits) VALUES ($1, $2, 'journal', $3, 100, $4, $5::bigint + $6, $7, $8)`,
        [
          accountId,
          Number(last.seq) + 1 + i,
          at,
          last.pending_debits,
          last.pending_credits,
          100 * (i + 1),
          last.posted_debits,
          last.posted_credits,
        ],
      ]),
    );
    const utc = (at: string) => `to_char((${at}) AT TIME ZONE 'UTC', ${ISO_MICROS})`;
    const { rows } = await ctx.db.query<{ at: string; before: string; after: string }>(
      `SELECT ${utc('at')} AS at, ${utc(`at - interval '1 microsecond'`)} AS before, ${utc(`at + interval '1 microsecond'`)} AS after
       FROM account_history WHERE account_id = $1 ORDER BY seq`,
      [accountId],
    );
    moments = rows;
    expect(moments).toHaveLength(16); // the opening row, eleven changes, four rows in later months
  });

  it('should answer every window of a page as the SQL it replaced did', async () => {
    // `from` inclusive and `to` exclusive, each on a row's moment and a microsecond off it, two of them in later months.
    const times = [moments[4].at, moments[6].after, moments[13].at, moments[15].before];
    let windows = 0;
    for (const desc of [false, true])
      for (const after of [null, 0, 3, 12, 15])
        for (const seqFrom of [null, 0, 1, 7, 14])
          for (const seqTo of [null, 0, 1, 6, 13])
            for (const [fromIso, toIso] of [
              [null, null],
              [times[0], null],
              [times[1], null],
              [null, times[2]],
              [times[0], times[2]],
              [times[1], times[3]],
            ])
              for (const limit of [1, 4, 50]) {
                const f = { accountId, desc, after, seqFrom, seqTo, fromIso, toIso, limit };
                const [planned, asSql] = await Promise.all([store.historyPage(f), pageAsSql(f)]);
                expect([f, planned.map(historyView)]).toEqual([f, asSql.map(historyView)]);
                windows++;
              }
    expect(windows).toBe(2 * 5 * 5 * 5 * 6 * 3);
    expect(store['unplanned']['olderUntil']).toBe(-Infinity); // the function answered every one
  });

  it('should answer a balance as of every moment as the SQL it replaced did, the archive’s carried row too', async () => {
    // Before the opening (no balances), on each change, a microsecond either side of it, and after the last.
    const cuts = moments.flatMap((m) => [m.before, m.at, m.after]).map(instant);
    const check = async () => {
      for (const cut of cuts)
        for (const carried of [false, true])
          expect([cut.iso, carried, await store.historyAt(accountId, cut, carried)]).toEqual([
            cut.iso,
            carried,
            await atAsSql(cut, carried),
          ]);
    };
    await check();
    expect(await store.historyAt(accountId, cuts[0], false)).toBeNull();
    // A row carried over an archive point (written around the triggers): found only when the caller says there is one.
    await asOwner(ctx.db, [
      [
        `INSERT INTO account_history_carried (account_id, seq, event, at, pending_debits, pending_credits, posted_debits,
           posted_credits, archived_before) VALUES ($1, 0, 'opening', $2, 0, 11, 0, 22, $2)`,
        [accountId, moments[0].at],
      ],
    ]);
    await check();
    expect(await store.historyAt(accountId, cuts[0], true)).toEqual({
      pending_debits: '0',
      pending_credits: '11',
      posted_debits: '0',
      posted_credits: '22',
    });
    await asOwner(ctx.db, [[`DELETE FROM account_history_carried WHERE account_id = $1`, [accountId]]]);
    expect(store['unplanned']['olderUntil']).toBe(-Infinity);
  });

  it('should reach each row by its key, call after call: a page by its bounds of seq, a balance by one descent', async () => {
    const plans: string[] = [];
    const db = await sql(ctx.app.databaseUrl);
    try {
      db.on('notice', (n) => plans.push(n.message ?? ''));
      for (const s of [`LOAD 'auto_explain'`, 'SET auto_explain.log_min_duration = 0', 'SET auto_explain.log_nested_statements = on'])
        await db.query(s);
      await db.query('SET auto_explain.log_level = notice');
      // Past the five custom plans Postgres would otherwise make first: both orders, with and without time bounds.
      for (let i = 0; i < 8; i++) {
        await db.query(`SELECT * FROM account_history_page($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, 3)`, [
          accountId,
          i % 2 === 1,
          i,
          14 - i,
          i % 3 ? '-infinity' : moments[2].at,
          i % 3 ? 'infinity' : moments[14].at,
        ]);
        await db.query(`SELECT * FROM account_balances_at($1, $2::timestamptz, $3)`, [accountId, moments[i * 2].after, i % 2 === 1]);
      }
    } finally {
      await db.end();
    }
    const of = (marker: string) => plans.filter((p) => p.includes(marker) && p.includes('Query Text'));
    const pages = of('FROM account_history h LEFT JOIN journal_transactions');
    const balances = of('FROM account_history_carried c');
    expect([pages.length, balances.length]).toEqual([8, 8]);
    // No plan reads a row it does not answer: no sort (a page in seq order comes from the index), no other scan or join.
    for (const plan of [...pages, ...balances]) expect(plan).not.toMatch(/(^|->\s+)Sort\s+\(|Seq Scan|Bitmap|Hash|Merge Join|JIT:/m);
    // Every month's scan of a page is bounded by seq in the index; a balance descends the (account_id, at, seq) index.
    const pageScans = /on account_history\S* h\S*\s+\([^)]*\)\n\s+Index Cond: \(\(account_id = \$1\) AND \(seq > \$3\) AND \(seq < \$4\)/g;
    for (const plan of pages) expect(plan.match(pageScans)?.length).toBe(plan.match(/on account_history\S* h\S*\s/g)?.length);
    const scan = String.raw`Index Scan Backward using account_history\S*_at on account_history\S* h\S*\s+\([^)]*\)\n\s+`;
    const descent = new RegExp(scan + String.raw`Index Cond: \(\(account_id = a\.id\) AND \(at <= \$2\)\)`);
    for (const plan of balances) expect(plan).toMatch(descent);
  });

  it('should read as SQL, answering the same, while the functions’ migration has not run', async () => {
    const page = `/v1/cards/${CARD.slice('card:'.length)}/history?limit=5&order=desc`;
    const asOf = `/v1/cards/${CARD.slice('card:'.length)}/balance?asOf=${moments[7].at}`;
    const before = [await ctx.app.api('GET', page), await ctx.app.api('GET', asOf)];
    expect(before.map((r) => r.status)).toEqual([200, 200]);
    const rename = (from: string, to: string) =>
      ctx.db.query(`ALTER FUNCTION ${from}(bigint, boolean, bigint, bigint, timestamptz, timestamptz, int) RENAME TO ${to}`);
    await rename('account_history_page', 'account_history_page_gone');
    await ctx.db.query(`ALTER FUNCTION account_balances_at(bigint, timestamptz, boolean) RENAME TO account_balances_at_gone`);
    try {
      // Each read finds its own function missing: the first one's fallback would otherwise send the second as SQL.
      const res = [];
      for (const path of [page, asOf]) {
        store['unplanned']['olderUntil'] = -Infinity;
        res.push(await ctx.app.api('GET', path));
        expect(store['unplanned']['olderUntil']).toBeGreaterThan(performance.now());
      }
      expect(res.map((r) => r.status)).toEqual([200, 200]);
      expect(res.map((r) => r.body)).toEqual(before.map((r) => r.body));
      expect(warned(/functions \(migration 1765490000000\) are not in the database/)).toBeGreaterThan(0);
    } finally {
      await rename('account_history_page_gone', 'account_history_page');
      await ctx.db.query(`ALTER FUNCTION account_balances_at_gone(bigint, timestamptz, boolean) RENAME TO account_balances_at`);
    }
  });

  it('should read without the account row’s moment, answering the same, while that column’s migration has not run', async () => {
    // The trial balance reads balances as of a moment through the same fallback (OlderSchemaFallback), for a missing
    // column: one moment inside the card's history, one after its last change (answered by the account row when dated).
    const reads = [moments[7].at, moments[11].after].map((at) => `/v1/reports/trial-balance?asOf=${at}`);
    const before = [];
    for (const path of reads) before.push(await ctx.app.api('GET', path));
    expect(before.map((r) => r.status)).toEqual([200, 200]);
    await ctx.db.query(`ALTER TABLE accounts RENAME COLUMN history_at TO history_at_gone`);
    try {
      const res = [];
      for (const path of reads) {
        store['undated']['olderUntil'] = -Infinity;
        res.push(await ctx.app.api('GET', path));
        expect(store['undated']['olderUntil']).toBeGreaterThan(performance.now());
      }
      expect(res.map((r) => r.body)).toEqual(before.map((r) => r.body));
      expect(warned(/accounts\.history_at out for 10 s/)).toBeGreaterThan(0);
    } finally {
      await ctx.db.query(`ALTER TABLE accounts RENAME COLUMN history_at_gone TO history_at`);
    }
  });
});
