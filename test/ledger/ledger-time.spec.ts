import fc from 'fast-check';
import { Client } from 'pg';
import { formatMinor } from '../../src/common/money';
import { inTransaction } from '../../src/database/transaction';
import { LedgerService } from '../../src/ledger/ledger.service';
import { SettlementService } from '../../src/sync/settlement.service';
import { sql } from '../support/db';
import { useTestApp } from '../support/app';

type HistoryRow = { seq: number; at: string; event: string; amount: string; pendingBalance: string; postedBalance: string };

/** "-50.25" → -5025n (the API's amounts, zero and negative ones included). */
const minor = (s: string): bigint => {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(s);
  if (!m) throw new Error(`not an amount: ${s}`);
  return (m[1] ? -1n : 1n) * (BigInt(m[2]) * 100n + BigInt(m[3]));
};
/** µs since the epoch of an ISO time with up to six fraction digits. */
const micros = (iso: string): bigint => {
  const m = /^(.*\.)(\d+)Z$/.exec(iso)!;
  return BigInt(Date.parse(`${m[1]}${m[2].slice(0, 3)}Z`)) * 1000n + BigInt(m[2].padEnd(6, '0').slice(3, 6));
};
const isoMicros = (us: bigint): string => {
  const ms = us / 1000n;
  return `${new Date(Number(ms)).toISOString().slice(0, -1)}${String(us % 1000n).padStart(3, '0')}Z`;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** docs/time.md: one moment per ledger transaction, one cut rule, and a past that never changes. */
describe('ledger time', () => {
  const ctx = useTestApp({ env: { LEDGER_FINAL_WAIT_MS: '3000' } });
  const load = async (card: string, amount: string, key: string) => {
    const r = await ctx.app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: card, amount, cardAccountId: 'CATIME' },
      headers: { 'idempotency-key': key },
    });
    expect(r.status).toBe(201);
    return r.body as { id: string; createdAt: string; journalTransactionId: string };
  };
  const settle = (loadId: string, to: 'posted' | 'reversed') =>
    ctx.app.app.get(SettlementService).settle(loadId, to, { reason: 'test', actor: 'test' });

  /**
   * Starts posting the load while another session holds `hold` (SQL run in its open transaction), then gives the
   * database's clock 200 ms later as T. `release` commits that session and waits for the settlement.
   */
  async function settlementHeldBy(loadId: string, hold: string): Promise<{ asOf: string; release: () => Promise<void> }> {
    const blocker: Client = await sql(ctx.app.databaseUrl);
    await blocker.query('BEGIN');
    await blocker.query(hold, hold.includes('$1') ? [loadId] : []);
    const settling = settle(loadId, 'posted');
    await sleep(200);
    const asOf = ((await ctx.db.query(`SELECT clock_timestamp() AS t`)).rows[0].t as Date).toISOString();
    return {
      asOf,
      release: async () => {
        await blocker.query('COMMIT').finally(() => blocker.end());
        await settling;
      },
    };
  }

  it('should stamp every row of one intake and of its settlement with one moment each, at millisecond precision', async () => {
    const created = await load('EKCTIME001', '40.00', 'time-1');
    const times = async (sqlText: string, args: unknown[]) =>
      (await ctx.db.query(sqlText, args)).rows.map((r: { t: Date }) => r.t.toISOString());
    const intake = [
      ...(await times(`SELECT created_at AS t FROM card_loads WHERE id = $1 UNION ALL SELECT updated_at FROM card_loads WHERE id = $1`, [
        created.id,
      ])),
      ...(await times(`SELECT created_at AS t FROM journal_transactions WHERE id = $1`, [created.journalTransactionId])),
      ...(await times(`SELECT created_at AS t FROM journal_entries WHERE transaction_id = $1`, [created.journalTransactionId])),
      ...(await times(`SELECT at AS t FROM account_history WHERE transaction_id = $1`, [created.journalTransactionId])),
      ...(await times(`SELECT at AS t FROM load_events WHERE load_id = $1`, [created.id])),
      // the card's account was opened by this intake: its opening row too
      ...(await times(
        `SELECT a.created_at AS t FROM accounts a WHERE code = 'card:EKCTIME001'
                      UNION ALL SELECT h.at FROM account_history h JOIN accounts a ON a.id = h.account_id
                      WHERE a.code = 'card:EKCTIME001' AND h.seq = 0`,
        [],
      )),
    ];
    expect(intake).toHaveLength(10);
    expect(new Set(intake)).toEqual(new Set([created.createdAt]));
    const precise = await ctx.db.query(`SELECT count(*)::int AS n FROM account_history WHERE date_trunc('milliseconds', at) <> at`);
    expect(precise.rows[0].n).toBe(0);
    // A new card's balance as of its first load's createdAt exists and includes the load.
    const atCreation = await ctx.app.api('GET', `/v1/cards/EKCTIME001/balance?asOf=${created.createdAt}`);
    expect(atCreation.body).toMatchObject({ pending: '40.00', posted: '0.00', asOf: created.createdAt });

    await sleep(3);
    expect(await settle(created.id, 'posted')).toBe('settled');
    const after = (await ctx.app.api('GET', `/v1/card-loads/${created.id}`)).body;
    const post = await ctx.db.query(`SELECT id FROM journal_transactions WHERE pending_id = $1`, [created.journalTransactionId]);
    const settlement = [
      after.updatedAt,
      ...(await times(
        `SELECT created_at AS t FROM journal_transactions WHERE id = $1 UNION ALL
                      SELECT created_at FROM journal_entries WHERE transaction_id = $1 UNION ALL
                      SELECT at FROM account_history WHERE transaction_id = $1`,
        [post.rows[0].id],
      )),
      ...after.events.filter((e: { type: string }) => e.type === 'settled').map((e: { at: string }) => e.at),
    ];
    expect(settlement).toHaveLength(7);
    expect(new Set(settlement)).toEqual(new Set([after.postedAt]));
    expect(after.postedAt > created.createdAt).toBe(true);
  });

  it('should answer a balance as of T only once no transaction that may commit at or before T is in flight', async () => {
    const created = await load('EKCTIME002', '40.00', 'time-2');
    // The settlement takes its turn on the accounts and its moment, then waits for the load row another session
    // holds: its commit lands late, with a moment before T.
    const held = await settlementHeldBy(created.id, `SELECT 1 FROM card_loads WHERE id = $1 FOR UPDATE`);
    let answered = false;
    const first = ctx.app.api('GET', `/v1/cards/EKCTIME002/balance?asOf=${held.asOf}`).then((r) => {
      answered = true;
      return r;
    });
    await sleep(500);
    expect(answered).toBe(false); // it waits for the settlement: answering now would say posted 0.00
    await held.release();
    const [a, b] = [await first, await ctx.app.api('GET', `/v1/cards/EKCTIME002/balance?asOf=${held.asOf}`)];
    expect(a.body).toMatchObject({ posted: '40.00', pending: '0.00', asOf: held.asOf });
    expect(b.body).toEqual(a.body);
    expect((await ctx.app.api('GET', `/v1/card-loads/${created.id}`)).body.postedAt <= held.asOf).toBe(true);
  });

  it('should answer 503 rather than a figure that may change, when the wait runs out', async () => {
    const created = await load('EKCTIME003', '40.00', 'time-3');
    const held = await settlementHeldBy(created.id, `SELECT 1 FROM card_loads WHERE id = $1 FOR UPDATE`);
    const paths = [
      `/v1/cards/EKCTIME003/balance?asOf=${held.asOf}`,
      `/v1/accounts/parent:CATIME?asOf=${held.asOf}`,
      `/v1/reports/trial-balance?asOf=${held.asOf}`,
      `/v1/cards/EKCTIME003/history?to=${held.asOf}`,
    ];
    const early = await Promise.all(paths.map((p) => ctx.app.api('GET', p))); // each waits 3 s, the lock is held longer
    for (const r of early) {
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
    }
    await held.release();
    expect((await ctx.app.api('GET', paths[0])).body).toMatchObject({ posted: '40.00', asOf: held.asOf });
  });

  it('should not wait for a writer still queued for its accounts: its moment comes after its turn', async () => {
    const created = await load('EKCTIME004', '25.00', 'time-4');
    // Another writer's turn on the parent, held by a transaction that has written nothing (no xid yet).
    const held = await settlementHeldBy(
      created.id,
      `SELECT ledger_lock_accounts(ARRAY(SELECT id FROM accounts WHERE code = 'parent:CATIME'))`,
    );
    const started = performance.now();
    const early = await ctx.app.api('GET', `/v1/cards/EKCTIME004/balance?asOf=${held.asOf}`);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(early.body).toMatchObject({ posted: '0.00', pending: '25.00', asOf: held.asOf });
    await held.release();
    expect((await ctx.app.api('GET', `/v1/cards/EKCTIME004/balance?asOf=${held.asOf}`)).body).toEqual(early.body);
    expect((await ctx.app.api('GET', `/v1/card-loads/${created.id}`)).body.postedAt > held.asOf).toBe(true);
  });

  it('should accept microsecond times, refuse unreadable ones, and cut asOf (<=), from (>=) and to (<) the same way', async () => {
    const card = 'EKCTIME005';
    const ledger = ctx.app.app.get(LedgerService);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const l = await load(card, `${10 + i}.00`, `time-5-${i}`);
      ids.push(l.id);
      await sleep(2);
      if (i % 2 === 1) await settle(ids[i - 1], i % 4 === 1 ? 'posted' : 'reversed');
      await sleep(2);
    }
    // A manual posted movement on the card (an undo) and more settlements, so every event kind is in the history.
    await settle(ids[5], 'posted');
    await sleep(2);
    const [post] = (
      await ctx.db.query(
        `SELECT t.id FROM journal_transactions t JOIN card_loads l ON t.pending_id = l.journal_transaction_id
                                        WHERE l.id = $1`,
        [ids[0]],
      )
    ).rows;
    await inTransaction(ctx.app.ds, (m) => ledger.undoPosted(m, post.id, 'load_undone', ids[0], 'test undo'));
    const history: HistoryRow[] = (await ctx.app.api('GET', `/v1/cards/${card}/history?limit=500`)).body.data;
    expect(history.length).toBeGreaterThanOrEqual(10);

    for (const bad of ['2026-03-05T10:00:00.1234567Z', '2026-03-05T10:00:00,123Z', '2026-13-01T00:00:00Z', 'now']) {
      for (const path of [
        `/v1/cards/${card}/balance?asOf=${bad}`,
        `/v1/cards/${card}/history?from=${bad}`,
        `/v1/card-loads?createdTo=${bad}`,
      ]) {
        const r = await ctx.app.api('GET', path);
        expect([path, r.status]).toEqual([path, 400]);
      }
    }

    const balanceAt = async (us: bigint) => {
      const r = await ctx.app.api('GET', `/v1/cards/${card}/balance?asOf=${isoMicros(us)}`);
      return r.status === 404 ? { pending: 0n, posted: 0n } : { pending: minor(r.body.pending), posted: minor(r.body.posted) };
    };
    const roll = (rows: HistoryRow[]) =>
      rows.reduce(
        (b, r) => {
          const a = minor(r.amount);
          switch (r.event) {
            case 'load_pending':
              return { ...b, pending: b.pending + a };
            case 'load_posted':
              return { pending: b.pending - a, posted: b.posted + a };
            case 'load_reversed':
              return { ...b, pending: b.pending + a };
            default:
              return { ...b, posted: b.posted + a }; // load_undone, journal: posted movements
          }
        },
        { pending: 0n, posted: 0n },
      );
    const rowsIn = async (fromUs: bigint | null, toUs: bigint | null) => {
      const q = [fromUs === null ? '' : `from=${isoMicros(fromUs)}`, toUs === null ? '' : `to=${isoMicros(toUs)}`]
        .filter(Boolean)
        .join('&');
      return (await ctx.app.api('GET', `/v1/cards/${card}/history?limit=500&${q}`)).body.data as HistoryRow[];
    };
    const times = history.map((r) => micros(r.at));
    const lo = times[0] - 2000n;
    const hi = times[times.length - 1] + 2000n;
    // Cuts anywhere, and on purpose exactly at a row's time and one microsecond either side of it.
    const cut = fc.oneof(
      fc.bigInt({ min: lo, max: hi }),
      fc.tuple(fc.constantFrom(...times), fc.constantFrom(-1n, 0n, 1n)).map(([t, d]) => t + d),
    );
    await fc.assert(
      fc.asyncProperty(cut, cut, async (a, b) => {
        const [t, u] = a <= b ? [a, b] : [b, a];
        const then = await balanceAt(t);
        // asOf=T holds everything at or before T; the next rows start one microsecond later.
        const between = roll(t === u ? [] : await rowsIn(t + 1n, u + 1n));
        const later = await balanceAt(u);
        expect([formatMinor(then.pending + between.pending), formatMinor(then.posted + between.posted)]).toEqual([
          formatMinor(later.pending),
          formatMinor(later.posted),
        ]);
        // and from the start: everything before T + 1µs is the balance as of T
        const upTo = roll(await rowsIn(null, t + 1n));
        expect([upTo.pending, upTo.posted]).toEqual([then.pending, then.posted]);
      }),
      { numRuns: 60 },
    );

    // A returned millisecond time, echoed back, names exactly the rows at it.
    const row = history[3];
    expect((await ctx.app.api('GET', `/v1/cards/${card}/balance?asOf=${row.at}`)).body).toMatchObject({
      pending: row.pendingBalance,
      posted: row.postedBalance,
      asOf: row.at,
    });
    const fromRow = await rowsIn(micros(row.at), null);
    expect(fromRow[0].seq).toBe(history.filter((h) => h.at < row.at).length + 1);
  });
});
