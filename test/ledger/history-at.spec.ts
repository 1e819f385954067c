import { AccountMoments } from '../../src/ledger/account-moments';
import { newRowId } from '../../src/common/ids';
import { waitFor } from '../support/wait';
import { useTestApp } from '../support/app';
import { postTransfer } from '../support/journal';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';

const apart = () => new Promise((r) => setTimeout(r, 3)); // the API speaks milliseconds: keep moments apart

/**
 * `accounts.history_at`, the moment of an account's last history row (docs/design.md, "The moment of an account's
 * last change"): every balance write keeps it, reads as of a moment answer from the account row only when it is not
 * later, a moved account whose moment is not known (NULL) is read from its history, by readers and writers, until the
 * background job dates it.
 */
describe('the moment of an account’s last change', () => {
  const ctx = useTestApp();
  const balanceAt = async (code: string, asOf: string) => (await ctx.app.api('GET', `/v1/accounts/${code}?asOf=${asOf}`)).body;
  const trialAt = async (asOf: string) => (await ctx.app.api('GET', `/v1/reports/trial-balance?asOf=${asOf}`)).body;
  const row = async (code: string) =>
    (await ctx.db.query(`SELECT history_seq::int AS seq, history_at, created_at FROM accounts WHERE code = $1`, [code])).rows[0];

  it('should be the moment of the last history row after every write, and none before the first', async () => {
    for (const body of [
      { code: 'external:ha', currency: 'INR', normalSide: 'debit' },
      { code: 'parent:CAHA', currency: 'INR', normalSide: 'credit' },
    ])
      expect((await ctx.app.api('POST', '/v1/accounts', { body })).status).toBe(201);
    expect(await row('parent:CAHA')).toMatchObject({ seq: 0, history_at: null });
    for (let i = 0; i < 3; i++) expect((await postTransfer(ctx.app, `ha ${i}`, 'external:ha', 'parent:CAHA', '10.00')).status).toBe(201);
    const load = await ctx.app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: 'EKCHAT0001', amount: '5.00', cardAccountId: 'CAHA' },
      headers: { 'idempotency-key': 'ha-load' },
    });
    expect(load.status).toBe(201);
    const last = (
      await ctx.db.query(
        `SELECT a.code, a.history_at, h.at FROM accounts a JOIN account_history h ON h.account_id = a.id AND h.seq = a.history_seq
         WHERE a.code IN ('external:ha', 'parent:CAHA', 'card:EKCHAT0001')`,
      )
    ).rows;
    expect(last).toHaveLength(3);
    for (const r of last) expect(r.history_at).toEqual(r.at);
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  it('should answer a moment between two changes from the history, and one after the last from the account row', async () => {
    expect((await postTransfer(ctx.app, 'hb 1', 'external:ha', 'parent:CAHA', '1.00')).status).toBe(201);
    await apart();
    const between = new Date().toISOString();
    await apart();
    expect((await postTransfer(ctx.app, 'hb 2', 'external:ha', 'parent:CAHA', '2.00')).status).toBe(201);
    await apart();
    const after = new Date().toISOString();
    const [b, a] = [await balanceAt('parent:CAHA', between), await balanceAt('parent:CAHA', after)];
    expect(Number(a.postedCredits) - Number(b.postedCredits)).toBe(2);
    const lineOf = (tb: { data: Array<{ code: string; creditBalance: string }> }) => tb.data.find((l) => l.code === 'parent:CAHA')!;
    const [tbBetween, tbAfter] = [lineOf(await trialAt(between)), lineOf(await trialAt(after))];
    expect(Number(tbAfter.creditBalance) - Number(tbBetween.creditBalance)).toBe(2);
    expect(tbAfter.creditBalance).toBe(a.posted);
  });

  it('should read a moved account whose moment is not known from its history, and write it exactly', async () => {
    const before = new Date().toISOString();
    await apart();
    const answers = [await balanceAt('parent:CAHA', before), await trialAt(before)];
    // An account row written by hand without its moment (no migration leaves one).
    await ctx.db.query(`UPDATE accounts SET history_at = NULL WHERE code = 'parent:CAHA'`);
    expect([await balanceAt('parent:CAHA', before), await trialAt(before)]).toEqual(answers);
    expectNoViolations(await ledgerViolations(ctx.db));
    expect((await postTransfer(ctx.app, 'hc', 'external:ha', 'parent:CAHA', '3.00')).status).toBe(201);
    const r = (
      await ctx.db.query(
        `SELECT a.history_at, h.at FROM accounts a JOIN account_history h ON h.account_id = a.id AND h.seq = a.history_seq
         WHERE a.code = 'parent:CAHA'`,
      )
    ).rows[0];
    expect(r.history_at).toEqual(r.at);
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  it('should date a moved account whose moment is not known from its last history row, in the background job', async () => {
    await ctx.db.query(`UPDATE accounts SET history_at = NULL WHERE code IN ('parent:CAHA', 'external:ha')`);
    expect(await ctx.app.app.get(AccountMoments).run()).toBe(2);
    const rows = (
      await ctx.db.query(
        `SELECT a.history_at, h.at FROM accounts a JOIN account_history h ON h.account_id = a.id AND h.seq = a.history_seq
         WHERE a.code IN ('parent:CAHA', 'external:ha')`,
      )
    ).rows;
    expect(rows.map((r) => r.history_at)).toEqual(rows.map((r) => r.at));
    expect(await ctx.app.app.get(AccountMoments).run()).toBe(0);
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  /**
   * The job against a writer of the same account, in flight at once: the writer has moved the account (a new history
   * row, the row's moment set) and holds its commit while the job's batch waits for the row. Committed, the writer's
   * moment stands (the job rechecks `history_at IS NULL` on the row it waited for, and skips it); rolled back, the
   * job dates the row from the history row that is still the last.
   */
  it.each(['COMMIT', 'ROLLBACK'])('should keep the moment of a writer that moves the account while the job dates it (%s)', async (end) => {
    const pair = `('parent:CAHA', 'external:ha')`;
    const ids = (await ctx.db.query(`SELECT id FROM accounts WHERE code IN ${pair} ORDER BY id`)).rows.map((r) => r.id);
    const [lo, hi] = ids;
    const debitLo = (await ctx.db.query(`SELECT code FROM accounts WHERE id = $1`, [lo])).rows[0].code === 'external:ha';
    await ctx.db.query(`UPDATE accounts SET history_at = NULL WHERE code IN ${pair}`);
    const tx = newRowId();
    await ctx.db.query('BEGIN');
    await ctx.db.query(`SELECT ledger_begin_moment($1::bigint[])`, [ids]);
    await ctx.db.query(
      `WITH t AS (INSERT INTO journal_transactions (id, kind, description) VALUES ($1, 'posted', 'racing the job') RETURNING id)
       INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
       SELECT t.id, x.a, x.d, 100, 'INR' FROM t, (VALUES ($2::bigint, 'debit'), ($3::bigint, 'credit')) AS x(a, d)`,
      [tx, debitLo ? lo : hi, debitLo ? hi : lo],
    );
    await ctx.db.query(
      `SELECT ledger_apply_deltas(ARRAY[$1, $1]::uuid[], ARRAY['journal', 'journal'], ARRAY[NULL, NULL]::uuid[],
       ARRAY[$2, $3]::bigint[], ARRAY[0, 0]::bigint[], ARRAY[0, 0]::bigint[], $4::bigint[], $5::bigint[])`,
      [tx, lo, hi, debitLo ? [100, 0] : [0, 100], debitLo ? [0, 100] : [100, 0]],
    );
    await ctx.db.query(`INSERT INTO journal_unsealed (transaction_id) VALUES ($1)`, [tx]);
    const job = ctx.app.app.get(AccountMoments).run();
    const waiting = `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE accounts a SET history_at%'`;
    await waitFor('the job to wait for the writer’s rows', async () => (await ctx.app.ds.query(waiting))[0].n === 1);
    await ctx.db.query(end);
    expect(await job).toBe(end === 'COMMIT' ? 0 : 2);
    const rows = (
      await ctx.db.query(
        `SELECT a.history_at, h.at FROM accounts a JOIN account_history h ON h.account_id = a.id AND h.seq = a.history_seq
         WHERE a.code IN ${pair}`,
      )
    ).rows;
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.history_at).toEqual(r.at);
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  it('should name an account whose moment is not its last history row’s', async () => {
    await ctx.db.query(`UPDATE accounts SET history_at = history_at - interval '1 second' WHERE code = 'parent:CAHA'`);
    const v = await ledgerViolations(ctx.db);
    expect(v.historyDiffersFromBalance).toEqual([expect.objectContaining({ row: 'parent:CAHA' })]);
    await ctx.db.query(
      `UPDATE accounts a SET history_at = h.at FROM account_history h
       WHERE h.account_id = a.id AND h.seq = a.history_seq AND a.code = 'parent:CAHA'`,
    );
    expectNoViolations(await ledgerViolations(ctx.db));
  });
});
