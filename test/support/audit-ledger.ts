import { SealerService } from '../../src/ledger/sealer.service';
import { SettlementService } from '../../src/sync/settlement.service';
import { TestAppContext } from './app';
import { postTransfer } from './journal';

/** A small ledger for the audit suites: funding, loads (some settled), then sealed. */
export async function fillLedger(ctx: TestAppContext, prefix: string, n: number): Promise<void> {
  const { app } = ctx;
  if ((await app.api('GET', '/v1/accounts/external:fund')).status === 404) {
    await app.api('POST', '/v1/accounts', { body: { code: 'external:fund', currency: 'INR', normalSide: 'debit' } });
  }
  for (let i = 0; i < n; i++) {
    const funding = await postTransfer(app, `${prefix} funding ${i}`, 'external:fund', 'parent:CAAUDIT', '100.00');
    if (funding.status !== 201) {
      await app.api('POST', '/v1/accounts', { body: { code: 'parent:CAAUDIT', currency: 'INR', normalSide: 'credit' } });
      i--;
      continue;
    }
    const load = await app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: `EKCAUDIT0${i % 3}`, amount: '10.00', cardAccountId: 'CAAUDIT' },
      headers: { 'idempotency-key': `${prefix}-${i}` },
    });
    expect(load.status).toBe(201);
    if (i % 2 === 0) await app.app.get(SettlementService).settle(load.body.id, 'posted', { reason: 'test', actor: 'test' });
  }
  await app.app.get(SealerService).sealPending();
}
