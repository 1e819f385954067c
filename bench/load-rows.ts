import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
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

/**
 * The worker's settlement of `rows` (each posted after a successful send), as one transaction: `settlement_lock`,
 * then `card_loads_settle` (partition-calls.ts, calls-ab.ts).
 */
export async function settleBenchRows(db: Client, rows: NewLoadRow[]): Promise<void> {
  const each = <T>(f: (r: NewLoadRow) => T) => rows.map(f);
  await db.query('BEGIN');
  await db.query(`SELECT * FROM settlement_lock($1::uuid[])`, [each((r) => r.id)]);
  await db.query(
    `SELECT * FROM card_loads_settle($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[],
       $9::uuid[], $10::text[], $11::text[], $12::uuid[], $13::uuid[], $14::text[], $15::text[], $16::text[], $17::text[])`,
    [
      each((r) => r.id),
      each(() => 'enkash_load'),
      each(() => 'success'),
      each(() => 200),
      each(() => null),
      each(() => null),
      each(() => 20),
      each(() => null),
      each((r) => r.journalTransactionId),
      each(() => 'post_pending'),
      each(() => 'load_posted'),
      each((r) => r.id),
      each(() => randomUUID()),
      each(() => 'posted'),
      each(() => null),
      each(() => 'bench'),
      each(() => null),
    ],
  );
  await db.query('COMMIT');
}
