import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { useTestApp } from '../support/app';

describe('intake under concurrency on one shared parent account', () => {
  const ctx = useTestApp();

  it('should keep balances, history and transactions exact for 200 concurrent loads on 50 cards', async () => {
    const cards = Array.from({ length: 50 }, (_, i) => `EKCCONC${String(i).padStart(3, '0')}`);
    let expectedTotal = 0n;
    const perCard = new Map<string, bigint>();
    const requests = Array.from({ length: 200 }, (_, i) => {
      const card = cards[i % cards.length];
      const minor = BigInt(100 + ((i * 7919) % 100000));
      expectedTotal += minor;
      perCard.set(card, (perCard.get(card) ?? 0n) + minor);
      const amount = `${minor / 100n}.${String(minor % 100n).padStart(2, '0')}`;
      return () =>
        ctx.app.api('POST', '/v1/card-loads', { body: { enKashCardId: card, amount }, headers: { 'idempotency-key': `conc-${i}` } });
    });
    const results = await Promise.all(requests.map((r) => r()));
    expect(results.map((r) => r.status).filter((s) => s !== 201)).toEqual([]);

    expectNoViolations(await ledgerViolations(ctx.db));
    const parent = await ctx.db.query(
      `SELECT pending_debits, pending_credits, posted_debits, posted_credits, history_seq FROM accounts WHERE code = 'parent:CABFIPS'`,
    );
    expect(parent.rows[0]).toEqual({
      pending_debits: expectedTotal.toString(),
      pending_credits: '0',
      posted_debits: '0',
      posted_credits: '0',
      history_seq: '200',
    });
    for (const [card, total] of perCard) {
      const bal = await ctx.app.api('GET', `/v1/cards/${card}/balance`);
      expect(bal.body.pending).toBe(`${total / 100n}.${String(total % 100n).padStart(2, '0')}`);
      expect(bal.body.posted).toBe('0.00');
    }
    const seqs = await ctx.db.query(
      `SELECT seq FROM account_history h JOIN accounts a ON a.id = h.account_id WHERE a.code = 'parent:CABFIPS' ORDER BY seq`,
    );
    expect(seqs.rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 201 }, (_, i) => i));
  });
});
