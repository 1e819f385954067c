import { useTestApp } from '../support/app';

describe('card balance and history', () => {
  const ctx = useTestApp({ db: false });

  it('should show pending loads in balance and history, with running balances', async () => {
    for (const [i, amount] of ['100.00', '0.50', '20.25'].entries()) {
      const r = await ctx.app.api('POST', '/v1/card-loads', {
        body: { enKashCardId: 'EKCREAD001', amount },
        headers: { 'idempotency-key': `r${i}` },
      });
      expect(r.status).toBe(201);
    }
    const bal = await ctx.app.api('GET', '/v1/cards/EKCREAD001/balance');
    expect(bal.body).toMatchObject({ enKashCardId: 'EKCREAD001', currency: 'INR', posted: '0.00', pending: '120.75' });
    const h = await ctx.app.api('GET', '/v1/cards/EKCREAD001/history?limit=2');
    expect(h.body.data.map((r: { seq: number; pendingBalance: string; event: string }) => [r.seq, r.event, r.pendingBalance])).toEqual([
      [1, 'load_pending', '100.00'],
      [2, 'load_pending', '100.50'],
    ]);
    const next = await ctx.app.api('GET', `/v1/cards/EKCREAD001/history?cursor=${h.body.nextCursor}`);
    expect(next.body.data.map((r: { seq: number; amount: string }) => [r.seq, r.amount])).toEqual([[3, '20.25']]);
    expect(next.body.nextCursor).toBeNull();
  });

  it('should answer 404 for an unknown card and for a moment before the card existed', async () => {
    expect((await ctx.app.api('GET', '/v1/cards/EKCNONE001/balance')).status).toBe(404);
    expect((await ctx.app.api('GET', '/v1/cards/EKCREAD001/balance?asOf=2001-01-01T00:00:00Z')).status).toBe(404);
    expect((await ctx.app.api('GET', '/v1/cards/bad-id/balance')).status).toBe(400);
    expect((await ctx.app.api('GET', '/v1/cards/EKCREAD001/balance?asOf=tomorrow')).status).toBe(400);
  });
});
