import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

/** The description every transfer written by transferAt carries (a test that rewrites it restores this). */
export const TRANSFER_AT_DESCRIPTION = 'test transfer';

const started = new Date();
/** The first of the month three months before this one (UTC): where the partition specs' ledger starts. */
const FIRST_MONTH = new Date(Date.UTC(started.getUTCFullYear(), started.getUTCMonth() - 3, 1));

/** Day `day` of the `k`-th month of that ledger (0: its first month), as an ISO moment. */
export const ledgerMonth = (k: number, day = 1) =>
  new Date(Date.UTC(FIRST_MONTH.getUTCFullYear(), FIRST_MONTH.getUTCMonth() + k, day)).toISOString();

/**
 * The partitions of journal_entries and account_history remade as if the ledger had run for months: one partition
 * [MINVALUE, from), with its statement triggers; the maintenance (PartitionMaintenance.run) then makes the months.
 */
export async function remakePartitionsFrom(db: Client, from: string): Promise<void> {
  for (const t of ['journal_entries', 'account_history']) {
    await db.query(`ALTER TABLE ${t} DETACH PARTITION ${t}_legacy`);
    await db.query(`DROP TABLE ${t}_legacy`);
    for (const p of (await db.query(`SELECT part FROM ledger_partitions() WHERE parent = $1`, [t])).rows) {
      await db.query(`ALTER TABLE ${t} DETACH PARTITION ${p.part}`);
      await db.query(`DROP TABLE ${p.part}`);
    }
    await db.query(`CREATE TABLE ${t}_early PARTITION OF ${t} FOR VALUES FROM (MINVALUE) TO ('${from}')`);
    await db.query(`SELECT ledger_partition_triggers($1, $2)`, [t, `${t}_early`]);
  }
}

/** Milliseconds since the epoch, as card_ledger.moment takes them. */
export const ms = (iso: string) => String(new Date(iso).getTime());

/** Opens accounts at a fixed moment (card_ledger.moment, docs/time.md), so their history can start in the past. */
export async function openAccounts(db: Client, at: string, codes: string[]): Promise<Map<string, string>> {
  await db.query('BEGIN');
  await db.query(`SELECT set_config('card_ledger.moment', $1, true)`, [ms(at)]);
  const rows = (
    await db.query(
      `INSERT INTO accounts (code, currency, normal_side) SELECT c, 'INR', CASE WHEN c LIKE 'external:%' THEN 'debit' ELSE 'credit' END
       FROM unnest($1::text[]) c RETURNING id, code`,
      [codes],
    )
  ).rows;
  await db.query('COMMIT');
  return new Map(rows.map((r) => [r.code, r.id]));
}

/**
 * A transfer written as the ledger writes one (entries, seal queue, balances and history), at a fixed moment;
 * `pending` moves pending balances only.
 */
export async function transferAt(
  db: Client,
  at: string,
  debit: string,
  credit: string,
  amount: number,
  kind: 'posted' | 'pending' = 'posted',
): Promise<string> {
  const tx = randomUUID();
  const [lo, hi] = [debit, credit].sort((a, b) => Number(a) - Number(b));
  const dr = (id: string) => (id === debit ? amount : 0);
  const cr = (id: string) => (id === credit ? amount : 0);
  const zero = [0, 0];
  await db.query('BEGIN');
  await db.query(`SELECT set_config('card_ledger.moment', $1, true)`, [ms(at)]);
  await db.query(
    `WITH t AS (INSERT INTO journal_transactions (id, kind, description) VALUES ($1, $5, $6) RETURNING id, created_at),
          e AS (INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
                VALUES ($1, $2, 'debit', $4, 'INR'), ($1, $3, 'credit', $4, 'INR'))
     INSERT INTO journal_unsealed (transaction_id, created_at) SELECT id, created_at FROM t`,
    [tx, debit, credit, amount, kind, TRANSFER_AT_DESCRIPTION],
  );
  const p = kind === 'pending';
  await db.query(
    `SELECT ledger_apply_deltas(ARRAY[$1, $1]::uuid[], ARRAY['journal', 'journal'], ARRAY[NULL, NULL]::uuid[], ARRAY[$2, $3]::bigint[],
       $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])`,
    [tx, lo, hi, p ? [dr(lo), dr(hi)] : zero, p ? [cr(lo), cr(hi)] : zero, p ? zero : [dr(lo), dr(hi)], p ? zero : [cr(lo), cr(hi)]],
  );
  await db.query('COMMIT');
  return tx;
}
