import { Caller } from '../../src/auth/scopes';
import { CardLoadsStore } from '../../src/card-loads/card-loads.store';
import { IntakeResult, IntakeWriter, NormalisedLoad, requestHash } from '../../src/card-loads/intake-writer';
import { Outcome } from '../../src/common/group-commit';
import { contentHash, SEAL_CONTENT_COLUMNS, SealContentRow } from '../../src/ledger/journal-seal';
import { SettlementService } from '../../src/sync/settlement.service';
import { useTestApp } from '../support/app';
import { sql } from '../support/db';
import { ledgerViolations } from '../support/ledger-checks';

/**
 * Intake and settlement write the journal in one database call each (docs/design.md "Intake in one call"); the
 * service hashes each transaction's content for the sealing queue. Those hashes must be what the sealer and the
 * verifier compute from the stored rows, or the chain would report tampering that never happened.
 */
describe('intake in one call', () => {
  const ctx = useTestApp();
  const post = (key: string, body: unknown) => ctx.app.api('POST', '/v1/card-loads', { body, headers: { 'idempotency-key': key } });

  /**
   * Transactions whose queued or sealed hash is not the hash of their stored content (the sealer seals what it finds
   * queued, so a wrong hash it took already is in its seal), or that are in neither.
   */
  const mismatches = async (): Promise<string[]> => {
    const { rows } = await ctx.db.query<SealContentRow & { content_hash: Buffer | null }>(
      `SELECT coalesce(u.content_hash, s.content_hash) AS content_hash, ${SEAL_CONTENT_COLUMNS} FROM journal_transactions t
       LEFT JOIN journal_unsealed u ON u.transaction_id = t.id LEFT JOIN journal_seals s ON s.transaction_id = t.id`,
    );
    return rows.filter((r) => !r.content_hash || !contentHash(r).equals(r.content_hash)).map((r) => r.id);
  };

  it('should queue the hash of what was stored: concurrent batches with replays, odd descriptions, posts and voids', async () => {
    const descriptions = [
      '"NULL"',
      'NULL',
      'a,b{c}',
      'back\\slash "q"',
      'emoji 💳 é (e + \u0301)',
      ' spaced ',
      'עברית',
      '',
      'tab\tnew\nline\r \u0001\u001f\u007f \u2028\u2029 \ufeff',
    ];
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        post(`one-call-${i % 30}`, {
          enKashCardId: `EKCOC${String(i % 7).padStart(5, '0')}`,
          amount: '1.00',
          description: descriptions[i % descriptions.length],
        }),
      ),
    );
    answers.push(
      ...(await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(`one-call-plain-${i}`, { enKashCardId: `EKCOCN${i % 3}000`, amount: '2.00' })),
      )),
    );
    // Every load is written or replayed (a key reused with another description is refused, and written nothing).
    expect(answers.filter((a) => ![200, 201, 409].includes(a.status)).map((a) => a.body)).toEqual([]);
    const { rows: described } = await ctx.db.query<{ d: string }>(
      `SELECT DISTINCT description AS d FROM journal_transactions WHERE description NOT LIKE 'card load %'`,
    );
    expect(described.map((r) => r.d).sort()).toEqual([...descriptions].sort());
    expect(await mismatches()).toEqual([]);
    const { rows: loads } = await ctx.db.query<{ id: string }>(
      `SELECT id FROM card_loads WHERE idempotency_key LIKE 'one-call-%' ORDER BY id`,
    );
    await Promise.all(
      loads
        .slice(0, 24)
        .map((l, i) => ctx.app.app.get(SettlementService).settle(l.id, i % 2 ? 'posted' : 'reversed', { reason: 'test', actor: 'test' })),
    );
    expect(await mismatches()).toEqual([]);
    expect(Object.values(await ledgerViolations(ctx.db)).flat()).toEqual([]);
  });

  it('should start again when a key of the rest is committed between the replay answer and the second call', async () => {
    expect((await post('second-call-a', { enKashCardId: 'EKCSC00001', amount: '1.00' })).status).toBe(201);
    const [key] = (
      await ctx.db.query<{ id: string; name: string }>(`SELECT id, name FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at LIMIT 1`)
    ).rows;
    const writer = ctx.app.app.get(IntakeWriter);
    // The writer's own store (more than one module provides CardLoadsStore).
    const store = (writer as unknown as { loads: CardLoadsStore }).loads;
    const intake = store.intake.bind(store);
    let calls = 0;
    const spy = jest.spyOn(store, 'intake').mockImplementation(async (m, rows) => {
      if (++calls === 2) {
        // Another instance commits second-call-b now: after this batch's replay answer, before its second call.
        const other = await sql(ctx.app.databaseUrl);
        await other.query(
          `SELECT id FROM card_load_intake(ARRAY[gen_random_uuid()], ARRAY['CLSECOND'], ARRAY[$1::uuid], ARRAY['second-call-b'],
             ARRAY[sha256('another body')], ARRAY['EKCSC00002'], ARRAY['CEKEP5GSGP'], ARRAY['CAOTHER'], ARRAY[100::bigint],
             ARRAY['INR']::char(3)[], ARRAY[gen_random_uuid()], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY['{}'::jsonb],
             ARRAY[NULL::text], ARRAY['other'], ARRAY['raced'])`,
          [key.id],
        );
        await other.end();
      }
      return intake(m, rows);
    });
    const item = (idempotencyKey: string, enKashCardId: string) => {
      const load: NormalisedLoad = {
        enKashCardId,
        amountMinor: 100n,
        currency: 'INR',
        companyId: 'CEKEP5GSGP',
        cardAccountId: 'CABFIPS',
        description: null,
        remarks: null,
        metadata: {},
      };
      const caller: Caller = { apiKeyId: key.id, name: key.name, scopes: ['admin'] };
      return { caller, idempotencyKey, load, hash: requestHash(load), requestId: null };
    };
    const batch = [item('second-call-a', 'EKCSC00001'), item('second-call-b', 'EKCSC00003')];
    try {
      // The group commit's write function itself, so that the batch is exactly these two items.
      const batchWriter = writer as unknown as { commitBatch(b: unknown[]): Promise<Map<unknown, Outcome<IntakeResult>>> };
      const results = await batchWriter.commitBatch(batch);
      const a = results.get(batch[0])!;
      const b = results.get(batch[1])!;
      // The first is this key's own committed load (same body); the second was taken by another body meanwhile.
      expect(a.ok && a.value.replayed).toBe(true);
      expect(!b.ok && (b.error as { code?: string }).code).toBe('idempotency_key_reused');
      expect(calls).toBeGreaterThanOrEqual(3); // replay answer, the raced second call, the whole transaction again
    } finally {
      spy.mockRestore();
    }
    const { rows } = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM accounts WHERE code = 'card:EKCSC00003'`);
    expect(rows[0].n).toBe(0); // nothing of the raced attempt stayed behind
  });
});
