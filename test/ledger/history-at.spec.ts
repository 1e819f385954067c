import { AccountMoments } from '../../src/ledger/account-moments';
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
