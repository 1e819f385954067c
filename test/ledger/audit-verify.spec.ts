import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { AuditCheckpointer, CheckpointDocument, readCheckpointFile, SignedCheckpoint } from '../../src/ledger/audit-checkpoints';
import { signatureMatches } from '../../src/ledger/audit-keys';
import { chainHash, contentHash } from '../../src/ledger/journal-seal';
import { SealsStore } from '../../src/ledger/seals.store';
import { SealerService } from '../../src/ledger/sealer.service';
import { ledgerViolations } from '../support/ledger-checks';
import { TestAppContext, useTestApp } from '../support/app';
import { fillLedger } from '../support/audit-ledger';
import { runCli } from '../support/cli';
import { webhookEnv } from '../webhooks/harness';
import { startReceiver } from '../webhooks/receiver';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(probe: () => Promise<T>, ok: (t: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await probe();
  while (!ok(last) && Date.now() < deadline) {
    await sleep(100);
    last = await probe();
  }
  return last;
}

const verify = async (ctx: TestAppContext) => {
  const r = await ctx.app.api('GET', '/v1/audit/verify');
  expect(r.status).toBe(200);
  return r.body;
};

describe('the complete verifier', () => {
  const ctx = useTestApp();

  it('should verify an intact ledger: the chain and its MACs, held to signed checkpoints outside the database', async () => {
    await fillLedger(ctx, 'intact', 6);
    expect(await ctx.app.app.get(AuditCheckpointer).checkpoint()).not.toBeNull();
    await fillLedger(ctx, 'intact-more', 4);
    await ctx.app.app.get(AuditCheckpointer).checkpoint();
    const [{ n }] = (await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions`)).rows;
    const r = await verify(ctx);
    expect(r).toMatchObject({ ok: true, checkedTransactions: n, unsealedTransactions: 0, keyed: true, findings: [], trigger: 'manual' });
    expect(r.checkpoints.checked).toBe(2);
    expect((await ctx.app.api('GET', '/v1/audit/verify/latest')).body).toEqual(r);

    // Each line of the file verifies with the published public key alone, and names a real seal's hash.
    const pub = (await ctx.app.api('GET', '/v1/audit/public-key')).body;
    expect(pub).toMatchObject({ algorithm: 'Ed25519', keyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const { checkpoints } = readCheckpointFile(ctx.app.config.audit.checkpointFile);
    expect(checkpoints).toHaveLength(2);
    for (const c of checkpoints) {
      expect(signatureMatches(createPublicKey(pub.publicKey), c.document, c.signature)).toBe(true);
      const doc = JSON.parse(c.document) as CheckpointDocument;
      const [seal] = (await ctx.db.query(`SELECT encode(hash, 'hex') AS hash FROM journal_seals WHERE seq = $1`, [doc.seq])).rows;
      expect(doc).toMatchObject({ hash: seal.hash, keyedFrom: 1, keyId: pub.keyId });
    }
    expect(readFileSync(path.join(path.dirname(ctx.app.config.audit.checkpointFile), 'audit-checkpoint.pub'), 'utf8')).toBe(pub.publicKey);
    const listed = (await ctx.app.api('GET', '/v1/audit/checkpoints?limit=1')).body;
    expect(listed.data[0].document).toBe(checkpoints[1].document);
    const older = (await ctx.app.api('GET', `/v1/audit/checkpoints?cursor=${listed.nextCursor}`)).body.data;
    expect(older[0].document).toBe(checkpoints[0].document);
    expect((await ctx.app.api('GET', '/metrics', { key: null })).text).toMatch(/^card_ledger_audit_verify_ok 1$/m);
  });

  it('should name a balanced transaction written around the ledger (no seal, no queue row) and the card it moved', async () => {
    // Plain INSERTs, no trigger bypass, balanced; then the balances moved by the ledger's own function.
    const forged = '00000000-0000-4000-8000-00000000f0f0';
    const ids = (await ctx.db.query(`SELECT id, code FROM accounts WHERE code IN ('parent:CAAUDIT', 'card:EKCAUDIT01') ORDER BY id`)).rows;
    await ctx.db.query('BEGIN');
    await ctx.db.query(
      `WITH t AS (INSERT INTO journal_transactions (id, kind, description) VALUES ($1, 'posted', 'bonus') RETURNING id)
       INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
       SELECT t.id, x.a, x.d, 500000, 'INR' FROM t, unnest($2::bigint[], $3::text[]) AS x(a, d)`,
      [forged, ids.map((r) => r.id), ids.map((r) => (r.code.startsWith('parent') ? 'debit' : 'credit'))],
    );
    await ctx.db.query(
      `SELECT ledger_apply_deltas($1::uuid[], ARRAY['journal', 'journal'], ARRAY[NULL, NULL]::uuid[], $2::bigint[],
      ARRAY[0, 0]::bigint[], ARRAY[0, 0]::bigint[], $3::bigint[], $4::bigint[])`,
      [
        [forged, forged],
        ids.map((r) => r.id),
        ids.map((r) => (r.code.startsWith('parent') ? 500000 : 0)),
        ids.map((r) => (r.code.startsWith('parent') ? 0 : 500000)),
      ],
    );
    await ctx.db.query('COMMIT');
    expect((await ctx.app.api('GET', '/v1/cards/EKCAUDIT01/balance')).body.posted).not.toBe('0.00');

    const r = await verify(ctx);
    expect(r).toMatchObject({ ok: false, brokenAt: forged });
    expect(r.findings).toEqual(
      expect.arrayContaining([
        { check: 'unsealed', row: forged, message: expect.stringContaining('neither sealed nor queued') },
        { check: 'cardBalanceDiffersFromLoads', row: 'card:EKCAUDIT01', message: expect.any(String) },
      ]),
    );
    expect((await ctx.app.api('GET', '/metrics', { key: null })).text).toMatch(/^card_ledger_audit_verify_ok 0$/m);
  });
});

describe('a rewrite by the owner of the tables', () => {
  const ctx = useTestApp();
  let victim: { transaction_id: string; seq: string };
  let publicKeyFile: string;

  /**
   * What the database's owner can do with the app's own role: bypass the triggers, multiply a sealed transaction's
   * amounts, repair balances and history so that every invariant still holds, and recompute that seal and every
   * later one. Everything recomputable is recomputed; only the MACs (the audit key) and the checkpoints cannot be.
   */
  async function rewrite(ds: DataSource, txId: string): Promise<void> {
    await ds.transaction(async (m) => {
      await m.query(`SET LOCAL session_replication_role = replica`);
      const entries: Array<{ account_id: string; direction: string; amount: string }> = await m.query(
        `SELECT account_id, direction, amount FROM journal_entries WHERE transaction_id = $1`,
        [txId],
      );
      await m.query(`UPDATE journal_entries SET amount = amount * 10 WHERE transaction_id = $1`, [txId]);
      for (const e of entries) {
        const delta = BigInt(e.amount) * 9n;
        const col = e.direction === 'debit' ? 'posted_debits' : 'posted_credits';
        await m.query(`UPDATE accounts SET ${col} = ${col} + $2 WHERE id = $1`, [e.account_id, delta.toString()]);
        await m.query(`UPDATE account_history SET d_${col} = d_${col} + $3 WHERE account_id = $1 AND transaction_id = $2`, [
          e.account_id,
          txId,
          delta.toString(),
        ]);
        await m.query(
          `UPDATE account_history SET ${col} = ${col} + $3 WHERE account_id = $1
          AND seq >= (SELECT seq FROM account_history WHERE account_id = $1 AND transaction_id = $2)`,
          [e.account_id, txId, delta.toString()],
        );
      }
      const seals: Array<{ seq: string; transaction_id: string; prev_hash: Buffer }> = await m.query(
        `SELECT seq, transaction_id, prev_hash FROM journal_seals
         WHERE seq >= (SELECT seq FROM journal_seals WHERE transaction_id = $1) ORDER BY seq`,
        [txId],
      );
      const content = await new SealsStore(m.connection).content(
        m,
        seals.map((s) => s.transaction_id),
      );
      let prev = seals[0].prev_hash;
      for (const s of seals) {
        const c = contentHash(content.get(s.transaction_id)!);
        const h = chainHash(prev, c, BigInt(s.seq));
        await m.query(`UPDATE journal_seals SET content_hash = $2, prev_hash = $3, hash = $4 WHERE seq = $1`, [s.seq, c, prev, h]);
        prev = h;
      }
    });
  }

  beforeAll(async () => {
    await fillLedger(ctx, 'before', 5);
    await ctx.app.app.get(AuditCheckpointer).checkpoint();
    await fillLedger(ctx, 'after', 5);
    await ctx.app.app.get(AuditCheckpointer).checkpoint();
    [victim] = (
      await ctx.db.query(`SELECT s.transaction_id, s.seq
      FROM journal_seals s JOIN journal_transactions t ON t.id = s.transaction_id
      WHERE t.description = 'before funding 3'`)
    ).rows;
    publicKeyFile = path.join(mkdtempSync(path.join(tmpdir(), 'auditor-')), 'ledger.pub');
    writeFileSync(publicKeyFile, (await ctx.app.api('GET', '/v1/audit/public-key')).body.publicKey);
  });

  const auditor = () =>
    runCli(['verify', '--json', '--public-key', publicKeyFile, '--checkpoints', ctx.app.config.audit.checkpointFile], {
      DATABASE_URL: ctx.app.databaseUrl,
      AUDIT_SEAL_KEY: undefined,
      // This ledger's own signed head, never one another run left in the working directory's .data.
      DATA_DIR: ctx.app.config.dataDir,
    });

  it('should hold for an auditor with the public key alone, before any rewrite', async () => {
    const run = await auditor();
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, keyed: false, checkpoints: { checked: 2 } });
  });

  it('should name the first forged transaction, though every invariant still holds after the rewrite', async () => {
    await rewrite(ctx.app.ds, victim.transaction_id);
    expect(Object.values(await ledgerViolations(ctx.db)).flat()).toEqual([]); // balances, history, entries: all consistent
    const r = await verify(ctx);
    expect(r).toMatchObject({ ok: false, brokenAt: victim.transaction_id, seq: Number(victim.seq), reason: expect.stringMatching(/MAC/) });
  });

  it('should fail for the auditor too: the recomputed chain contradicts a signed checkpoint', async () => {
    const run = await auditor();
    expect(run.code).toBe(1);
    const r = JSON.parse(run.stdout);
    expect(r).toMatchObject({ ok: false, keyed: false, reason: expect.stringContaining('differs from the signed checkpoint') });
    const first = (JSON.parse(readCheckpointFile(ctx.app.config.audit.checkpointFile).checkpoints[0].document) as CheckpointDocument).seq;
    expect(r.seq).toBe(first); // the first checkpoint at or after the forged seal
    expect(Number(victim.seq)).toBeLessThanOrEqual(first);
  });

  it('should stop sealing and checkpointing on a head this key did not seal, and fail when the MACs are stripped too', async () => {
    const load = await ctx.app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: 'EKCAUDIT09', amount: '1.00', cardAccountId: 'CAAUDIT' },
      headers: { 'idempotency-key': 'after-rewrite' },
    });
    expect(load.status).toBe(201);
    expect(await ctx.app.app.get(SealerService).sealPending()).toBe(0);
    expect(await ctx.app.app.get(AuditCheckpointer).checkpoint()).toBeNull();
    await ctx.db.query(`SET session_replication_role = replica`);
    await ctx.db.query(`UPDATE journal_seals SET mac = NULL`);
    await ctx.db.query(`SET session_replication_role = origin`);
    const r = await verify(ctx);
    expect(r).toMatchObject({ ok: false, brokenAt: expect.any(String) });
    expect(r.findings[0]).toMatchObject({ check: 'chain', message: expect.stringMatching(/no MAC|checkpoint/) });
  });
});

describe('the verifier and the checkpoints in the background', () => {
  webhookEnv({});
  const ctx = useTestApp({ env: { AUDIT_VERIFY_INTERVAL_MS: '300', AUDIT_CHECKPOINT_INTERVAL_MS: '200' } });

  it('should send each new checkpoint to audit.checkpoint subscribers, signed, and publish each verification in /metrics', async () => {
    const receiver = await startReceiver();
    try {
      const sub = await ctx.app.api('POST', '/v1/webhooks', { body: { url: `${receiver.url}/audit`, events: ['audit.checkpoint'] } });
      expect(sub.status).toBe(201);
      await fillLedger(ctx, 'bg', 3);
      const got = await eventually(
        async () => receiver.accepted('/audit'),
        (r) => r.length > 0,
      );
      const event = JSON.parse(got[0].body) as { id: string; type: string; data: SignedCheckpoint };
      expect(event.type).toBe('audit.checkpoint');
      const pub = createPublicKey((await ctx.app.api('GET', '/v1/audit/public-key')).body.publicKey);
      expect(signatureMatches(pub, event.data.document, event.data.signature)).toBe(true);
      expect(JSON.parse(event.data.document)).toMatchObject({ ledgerCheckpoint: 1, seq: expect.any(Number) });
      // The answered event is recorded delivered (newer checkpoints may be on their way meanwhile).
      const mine = async () =>
        (
          (await ctx.app.api('GET', `/v1/webhooks/${sub.body.id}/deliveries?limit=500`)).body.data as Array<{ id: string; status: string }>
        ).find((d) => d.id === event.id);
      expect(await eventually(mine, (d) => d?.status === 'delivered')).toMatchObject({ type: 'audit.checkpoint', loadId: null });

      const scheduled = await eventually(
        () => ctx.app.api('GET', '/v1/audit/verify/latest'),
        (r) => r.body?.trigger === 'schedule',
      );
      expect(scheduled.body).toMatchObject({ ok: true, trigger: 'schedule', keyed: true });
      const metrics = (await ctx.app.api('GET', '/metrics', { key: null })).text;
      expect(metrics).toMatch(/^card_ledger_audit_verify_ok 1$/m);
      expect(metrics).toMatch(/^card_ledger_audit_verify_last_run_timestamp_seconds \d/m);
      expect(metrics).toMatch(/^card_ledger_audit_checkpoint_seq [1-9]/m);
    } finally {
      await receiver.close();
    }
  });
});
