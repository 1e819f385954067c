import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { MIGRATIONS } from '../../src/database/migrations';
import { AuditCheckpointer } from '../../src/ledger/audit-checkpoints';
import { chainHash, contentHash, GENESIS_HASH } from '../../src/ledger/journal-seal';
import { SealsStore } from '../../src/ledger/seals.store';
import { SealerService } from '../../src/ledger/sealer.service';
import { startTestApp, TestApp } from '../support/app';
import { createDatabaseAt, sql } from '../support/db';

/** The releases before this one: everything up to the migration that brought ledger_moment. */
const PREVIOUS = MIGRATIONS.slice(
  0,
  MIGRATIONS.findIndex((m) => m.name.startsWith('LedgerMoment')),
);

/**
 * The new migrations on a ledger the previous release filled (its loads, balances, history and seals, written as
 * it wrote them, with clock times to the microsecond and seals without MACs): the migrations apply, the ledger
 * verifies, the first checkpoint anchors the old seals, and new seals carry MACs from there on.
 */
describe('migrations 17648… on a populated ledger', () => {
  let url: string;
  let drop: () => Promise<void>;
  let c: Client;
  let app: TestApp | null = null;

  beforeAll(async () => {
    ({ url, drop } = await createDatabaseAt('cl_test_populated', PREVIOUS));
    c = await sql(url);
  });
  afterAll(async () => {
    await c.end();
    await app?.close();
    await drop();
  });

  /** One card load as the previous release's intake wrote it: rows first (clock times), balances last. */
  async function oldLoad(keyId: string, i: number): Promise<void> {
    const [loadId, txId] = [randomUUID(), randomUUID()];
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO accounts (code, currency, normal_side) VALUES ('parent:CAOLD', 'INR', 'credit'), ($1, 'INR', 'credit')
                   ON CONFLICT (code) DO NOTHING`,
      [`card:EKCOLD000${i % 3}`],
    );
    await c.query(
      `INSERT INTO card_loads (id, reference, api_key_id, idempotency_key, request_hash, en_kash_card_id, company_id,
                     card_account_id, amount, currency, journal_transaction_id)
                   VALUES ($1, $2, $3, $4, '\\x00', $5, 'CEKEP5GSGP', 'CAOLD', 1000, 'INR', $6)`,
      [loadId, `CLOLD${i}`, keyId, `old-${i}`, `EKCOLD000${i % 3}`, txId],
    );
    await c.query(`INSERT INTO sync_jobs (load_id) VALUES ($1)`, [loadId]);
    await c.query(`INSERT INTO load_events (load_id, type, outcome) VALUES ($1, 'created', 'pending')`, [loadId]);
    const ids = (await c.query(`SELECT id, code FROM accounts WHERE code IN ('parent:CAOLD', $1) ORDER BY id`, [`card:EKCOLD000${i % 3}`]))
      .rows;
    await c.query(
      `WITH t AS (INSERT INTO journal_transactions (id, kind, description) VALUES ($1, 'pending', 'old load')
                              RETURNING id, created_at),
                        e AS (INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
                              SELECT $1, x.a, x.d, 1000, 'INR' FROM unnest($2::bigint[], $3::text[]) AS x(a, d))
                   INSERT INTO journal_unsealed (transaction_id, created_at) SELECT id, created_at FROM t`,
      [txId, ids.map((r) => r.id), ids.map((r) => (r.code.startsWith('parent') ? 'debit' : 'credit'))],
    );
    await c.query(
      `SELECT ledger_apply_deltas($1::uuid[], ARRAY['load_pending', 'load_pending'], $2::uuid[], $3::bigint[],
                     $4::bigint[], $5::bigint[], ARRAY[0, 0]::bigint[], ARRAY[0, 0]::bigint[])`,
      [
        [txId, txId],
        [loadId, loadId],
        ids.map((r) => r.id),
        ids.map((r) => (r.code.startsWith('parent') ? 1000 : 0)),
        ids.map((r) => (r.code.startsWith('parent') ? 0 : 1000)),
      ],
    );
    await c.query('COMMIT');
  }

  /** The previous release's sealer: seals without MACs, from seal #`first` on. */
  async function oldSeal(first = 1): Promise<void> {
    const queue = (await c.query(`SELECT transaction_id FROM journal_unsealed ORDER BY created_at, transaction_id`)).rows.map(
      (r) => r.transaction_id,
    );
    const ds = new DataSource(dataSourceOptions(url, 1));
    await ds.initialize();
    const content = await new SealsStore(ds).content(ds.manager, queue);
    await ds.destroy();
    let prev: Buffer =
      first === 1 ? GENESIS_HASH : (await c.query(`SELECT hash FROM journal_seals WHERE seq = $1`, [first - 1])).rows[0].hash;
    for (const [i, id] of queue.entries()) {
      const seq = BigInt(first + i);
      const ch = contentHash(content.get(id)!);
      const h = chainHash(prev, ch, seq);
      await c.query(`INSERT INTO journal_seals (seq, transaction_id, content_hash, prev_hash, hash) VALUES ($1, $2, $3, $4, $5)`, [
        seq.toString(),
        id,
        ch,
        prev,
        h,
      ]);
      prev = h;
    }
    await c.query(`DELETE FROM journal_unsealed`);
  }

  it('should apply, verify the old ledger, anchor its seals with the first checkpoint and key every new seal', async () => {
    const [{ id: keyId }] = (
      await c.query(`INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ('old', 'x', '\\x01', '{loads:write}') RETURNING id`)
    ).rows;
    for (let i = 0; i < 6; i++) await oldLoad(keyId, i);
    await oldSeal();
    await oldLoad(keyId, 6); // queued by the old release, sealed by the new one

    await runMigrations(url);
    app = await startTestApp({}, url);
    await app.app.get(SealerService).stop(); // sealing by hand below, so that each step sees what it expects
    const before = (await app.api('GET', '/v1/audit/verify')).body;
    expect(before).toMatchObject({ ok: true, checkedTransactions: 6, unsealedTransactions: 1, findings: [] });

    expect(await app.app.get(SealerService).sealPending()).toBe(1);
    const load = await app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: 'EKCOLD0001', amount: '5.00', cardAccountId: 'CAOLD' },
      headers: { 'idempotency-key': 'new-1' },
    });
    expect(load.status).toBe(201);
    await app.app.get(SealerService).sealPending();
    const signed = await app.app.get(AuditCheckpointer).checkpoint();
    expect(JSON.parse(signed!.document)).toMatchObject({ seq: 8, keyedFrom: 7 });
    const macs = (await c.query(`SELECT seq, mac IS NOT NULL AS keyed FROM journal_seals ORDER BY seq`)).rows.map((r) => r.keyed);
    expect(macs).toEqual([false, false, false, false, false, false, true, true]);
    expect(signed).not.toBeNull();
    // An instance of the previous release (no key) that wins the sealer's lock now is refused: the chain stays keyed.
    await oldLoad(keyId, 7);
    await expect(oldSeal(9)).rejects.toThrow(/chain is keyed/);
    await app.app.get(SealerService).sealPending();
    const after = (await app.api('GET', '/v1/audit/verify')).body;
    expect(after).toMatchObject({ ok: true, checkedTransactions: 9, keyed: true, checkpoints: { checked: 1, latestSeq: 8 } });
    // The old load's balance as of its own createdAt (microseconds, as the old release stored it) is exact.
    const old = (await app.api('GET', '/v1/card-loads?enKashCardId=EKCOLD0002')).body.data;
    expect(old.length).toBeGreaterThan(0);
    expect((await app.api('GET', `/v1/cards/EKCOLD0002/history?to=${old[0].createdAt}`)).status).toBe(200);

    // Rewriting an old, unkeyed seal and all after it is still caught: the keyed seals after it, and the checkpoint.
    await c.query(`SET session_replication_role = replica`);
    await c.query(`UPDATE journal_transactions SET description = 'rewritten'
                   WHERE id = (SELECT transaction_id FROM journal_seals WHERE seq = 2)`);
    await c.query(`SET session_replication_role = origin`);
    expect((await app.api('GET', '/v1/audit/verify')).body).toMatchObject({ ok: false, seq: 2 });
  });
});
