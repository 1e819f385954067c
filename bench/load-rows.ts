import { randomBytes } from 'node:crypto';
import { v7 } from 'uuid';
import { NewLoadRow } from '../src/card-loads/card-loads.store';

/**
 * One new load as `card_load_intake` takes it, for the benches that call the function without the service
 * (intake-calls.ts, io-per-load.ts): 10.00 INR onto `card` under parent `cardAccountId`, ids made by `newId`.
 */
export function benchLoadRow(o: { apiKeyId: string; card: string; cardAccountId: string; newId?: () => string }): NewLoadRow {
  const newId = o.newId ?? v7;
  const id = newId();
  return {
    id,
    reference: `CLB${randomBytes(8).toString('hex')}`,
    apiKeyId: o.apiKeyId,
    idempotencyKey: `bench-${id}`,
    requestHash: randomBytes(32),
    enKashCardId: o.card,
    companyId: 'CEKEP5GSGP',
    cardAccountId: o.cardAccountId,
    amountMinor: 1000n,
    currency: 'INR',
    journalTransactionId: newId(),
    description: null,
    remarks: null,
    metadata: {},
    requestId: null,
    actor: 'bench',
    transferDescription: `card load ${id}`,
  };
}
