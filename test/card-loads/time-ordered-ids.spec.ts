import { SettlementService } from '../../src/sync/settlement.service';
import { useTestApp } from '../support/app';
import { postTransfer } from '../support/journal';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const apart = () => new Promise((r) => setTimeout(r, 3));

/**
 * Loads and journal transactions get time-ordered ids (UUID version 7, src/common/ids.ts; docs/design.md,
 * "Time-ordered ids"): later rows sort after earlier ones in every index keyed by them, so writes touch the newest
 * pages of those indexes.
 */
describe('time-ordered ids', () => {
  const ctx = useTestApp();

  it('should give loads, their transfers, their settlements and journal transfers ids that grow with time', async () => {
    const ids: string[] = [];
    const journals: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await ctx.app.api('POST', '/v1/card-loads', {
        body: { enKashCardId: 'EKCTOI0001', amount: '1.00' },
        headers: { 'idempotency-key': `toi-${i}` },
      });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
      journals.push(r.body.journalTransactionId);
      await apart();
    }
    for (const id of [...ids, ...journals]) expect(id).toMatch(V7);
    expect([...ids].sort()).toEqual(ids);
    expect([...journals].sort()).toEqual(journals);
    await ctx.app.app.get(SettlementService).settle(ids[0], 'posted', { reason: 'test', actor: 'test' });
    const posting = (await ctx.db.query(`SELECT id FROM journal_transactions WHERE pending_id = $1`, [journals[0]])).rows[0].id;
    expect(posting).toMatch(V7);
    expect(posting > journals[journals.length - 1]).toBe(true);

    await ctx.app.api('POST', '/v1/accounts', { body: { code: 'external:toi', currency: 'INR', normalSide: 'debit' } });
    await ctx.app.api('POST', '/v1/accounts', { body: { code: 'income:toi', currency: 'INR', normalSide: 'credit' } });
    const t = await postTransfer(ctx.app, 'toi', 'external:toi', 'income:toi', '1.00');
    expect(t.status).toBe(201);
    expect(t.body.id).toMatch(V7);
    expect(t.body.id > posting).toBe(true);
  });
});
