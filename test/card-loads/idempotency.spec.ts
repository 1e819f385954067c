import { useTestApp } from '../support/app';
import { sql } from '../support/db';
import { ledgerViolations } from '../support/ledger-checks';

const body = { enKashCardId: 'EKCIDE0001', amount: '250.75', description: 'March allowance', metadata: { invoiceId: 'INV-1' } };

describe('card-load idempotency', () => {
  const ctx = useTestApp();

  const post = (key: string, b: unknown = body, apiKey?: string) =>
    ctx.app.api('POST', '/v1/card-loads', { body: b, headers: { 'idempotency-key': key }, key: apiKey });

  it('should replay the same load with 200 and Idempotent-Replayed for the same key and body', async () => {
    const first = await post('seq-1', { ...body, enKashCardId: 'EKCIDE0002' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.body).toMatchObject({
      status: 'pending',
      amount: '250.75',
      currency: 'INR',
      attempts: 0,
      companyId: 'CEKEP5GSGP',
      cardAccountId: 'CABFIPS',
    });
    // The same body with the amount as a number is the same request.
    const again = await post('seq-1', { ...body, enKashCardId: 'EKCIDE0002', amount: 250.75 });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('should answer 409 idempotency_key_reused for the same key with another body', async () => {
    expect((await post('other-body', body)).status).toBe(201);
    const res = await post('other-body', { ...body, amount: '250.76' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('idempotency_key_reused');
    const { rows } = await ctx.db.query(`SELECT count(*)::int AS n FROM card_loads WHERE idempotency_key = 'other-body'`);
    expect(rows[0].n).toBe(1);
  });

  it('should create exactly one load from 20 concurrent requests with one key', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => post('concurrent-1', { ...body, enKashCardId: 'EKCIDE0003' })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.every((s) => s === 201 || s === 200 || s === 409)).toBe(true);
    const ids = new Set(results.filter((r) => r.status < 300).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const { rows } = await ctx.db.query(`SELECT count(*)::int AS n FROM card_loads WHERE idempotency_key = 'concurrent-1'`);
    expect(rows[0].n).toBe(1);
    const entries = await ctx.db
      .query(`SELECT count(*)::int AS n FROM journal_entries e JOIN card_loads l ON l.journal_transaction_id = e.transaction_id
      WHERE l.idempotency_key = 'concurrent-1'`);
    expect(entries.rows[0].n).toBe(2);
    const jobs = await ctx.db.query(
      `SELECT count(*)::int AS n FROM sync_jobs j JOIN card_loads l ON l.id = j.load_id WHERE l.idempotency_key = 'concurrent-1'`,
    );
    expect(jobs.rows[0].n).toBe(1);
  });

  it('should scope keys per API key', async () => {
    const created = await ctx.app.api('POST', '/v1/api-keys', { body: { name: 'billing-b', scopes: ['loads:write'] } });
    expect(created.status).toBe(201);
    const a = await post('shared-key', body);
    const b = await post('shared-key', body, created.body.key);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.id).not.toBe(b.body.id);
    expect(a.body.reference).not.toBe(b.body.reference);
  });

  it('should give every load its own reference, an outbox job and a pending transfer in one go', async () => {
    const res = await post('shape-1', { ...body, enKashCardId: 'EKCIDE0004' });
    const got = await ctx.app.api('GET', `/v1/card-loads/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.events.map((e: { type: string }) => e.type)).toEqual(['created']);
    // Load events are append-only like the journal (invariant 2).
    await expect(ctx.db.query(`UPDATE load_events SET message = 'edited' WHERE load_id = $1`, [res.body.id])).rejects.toThrow(
      /append-only/,
    );
    await expect(ctx.db.query(`DELETE FROM load_events WHERE load_id = $1`, [res.body.id])).rejects.toThrow(/append-only/);
    // What was asked never changes (card_loads_guard), and a load never jumps back to pending from a final state.
    await expect(ctx.db.query(`UPDATE card_loads SET amount = amount + 1 WHERE id = $1`, [res.body.id])).rejects.toThrow(/immutable/);
    await expect(ctx.db.query(`DELETE FROM card_loads WHERE id = $1`, [res.body.id])).rejects.toThrow(/never deleted/);
    const { rows } = await ctx.db.query(
      `SELECT t.kind, (SELECT count(*)::int FROM sync_jobs WHERE load_id = $1) AS jobs
      FROM journal_transactions t WHERE t.id = $2`,
      [res.body.id, res.body.journalTransactionId],
    );
    expect(rows).toEqual([{ kind: 'pending', jobs: 1 }]);
  });

  it('should start again, leaving nothing behind, when another transaction commits the key while intake waits its turn', async () => {
    // A writer (another instance) holds the parent's turn with the key written but not committed.
    const [{ id: apiKeyId }] = (await ctx.db.query(`SELECT id FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at LIMIT 1`)).rows;
    const other = await sql(ctx.app.databaseUrl);
    await other.query('BEGIN');
    await other.query(
      `SELECT id FROM card_load_intake(ARRAY[gen_random_uuid()], ARRAY['CLRACE1'], ARRAY[$1::uuid], ARRAY['raced-key'],
         ARRAY[sha256('other body')], ARRAY['EKCRACE001'], ARRAY['CEKEP5GSGP'], ARRAY['CABFIPS'], ARRAY[100::bigint],
         ARRAY['INR']::char(3)[], ARRAY[gen_random_uuid()], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY['{}'::jsonb],
         ARRAY[NULL::text], ARRAY['other'], ARRAY['raced'])`,
      [apiKeyId],
    );
    const before = (await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions`)).rows[0].n;
    const pending = post('raced-key', { ...body, enKashCardId: 'EKCRACE002' });
    await new Promise((r) => setTimeout(r, 300)); // it has looked for the key, found none, and waits for the parent's turn
    await other.query('COMMIT');
    await other.end();
    const res = await pending;
    // It started again and answered from the committed load: another body under the same key.
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('idempotency_key_reused');
    // Nothing of the loser stayed: not its card account, its transfer, its job.
    const { rows } = await ctx.db.query(
      `SELECT (SELECT count(*)::int FROM accounts WHERE code = 'card:EKCRACE002') AS accounts,
              (SELECT count(*)::int FROM card_loads WHERE idempotency_key = 'raced-key') AS loads,
              (SELECT count(*)::int FROM journal_transactions) AS transactions`,
    );
    expect(rows).toEqual([{ accounts: 0, loads: 1, transactions: before + 1 }]);
    expect(Object.values(await ledgerViolations(ctx.db)).flat()).toEqual([]);
  });
});
