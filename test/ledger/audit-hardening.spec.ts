import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AuditCheckpointer } from '../../src/ledger/audit-checkpoints';
import { SealerService } from '../../src/ledger/sealer.service';
import { TestAppContext, useTestApp } from '../support/app';
import { fillLedger } from '../support/audit-ledger';
import { asOwner } from '../support/db';
import { ledgerViolations } from '../support/ledger-checks';
import { postTransfer } from '../support/journal';

/**
 * What the owner of the tables (the app's own role, triggers bypassed) can still do after issue 13, and what the
 * verifier must say about it (docs/audit.md, "What the owner of the tables cannot do unnoticed").
 */
const verify = async (ctx: TestAppContext) => {
  const r = await ctx.app.api('GET', '/v1/audit/verify');
  expect(r.status).toBe(200);
  return r.body;
};

/** Each account's balances, history_seq and history_at taken back from its last remaining history row. */
const REBASE_ACCOUNTS = `UPDATE accounts a SET (pending_debits, pending_credits, posted_debits, posted_credits, history_seq, history_at) =
  (SELECT h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits, h.seq, CASE WHEN h.seq > 0 THEN h.at END
   FROM account_history h WHERE h.account_id = a.id ORDER BY h.seq DESC LIMIT 1)`;

const funding = (ctx: TestAppContext, description: string) =>
  postTransfer(ctx.app, description, 'external:fund', 'parent:CAAUDIT', '100.00');

describe('a rollback of the newest transactions by the owner of the tables', () => {
  const ctx = useTestApp();

  it('should fail against the signed head outside the database, though every invariant and checkpoint still holds', async () => {
    await fillLedger(ctx, 'rb', 3);
    await ctx.app.app.get(AuditCheckpointer).checkpoint();
    for (const d of ['rb newest 1', 'rb newest 2']) expect((await funding(ctx, d)).status).toBe(201);
    await ctx.app.app.get(SealerService).sealPending();
    expect(await verify(ctx)).toMatchObject({ ok: true });
    const head = JSON.parse(readFileSync(path.join(ctx.app.config.dataDir, 'audit-head.json'), 'utf8'));
    expect(JSON.parse(head.document)).toMatchObject({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    // Delete the two newest transactions, their seals, entries and history, and set the balances back.
    const ids = (await ctx.db.query(`SELECT id FROM journal_transactions WHERE description LIKE 'rb newest %'`)).rows.map((r) => r.id);
    await asOwner(ctx.db, [
      [`DELETE FROM journal_seals WHERE transaction_id = ANY($1)`, [ids]],
      [`DELETE FROM account_history WHERE transaction_id = ANY($1)`, [ids]],
      [`DELETE FROM journal_entries WHERE transaction_id = ANY($1)`, [ids]],
      [`DELETE FROM journal_transactions WHERE id = ANY($1)`, [ids]],
      [REBASE_ACCOUNTS],
    ]);
    expect(Object.values(await ledgerViolations(ctx.db)).flat()).toEqual([]);
    const r = await verify(ctx);
    expect(r).toMatchObject({ ok: false });
    expect(r.findings[0]).toMatchObject({ check: 'chain', message: expect.stringMatching(/signed head.*removed/) });
  });
});

describe('a backdated transaction by the owner of the tables', () => {
  const ctx = useTestApp();

  it('should name a transaction sealed with a moment before one sealed earlier, which changed a past balance', async () => {
    for (const [code, normalSide] of [
      ['external:bd', 'debit'],
      ['parent:CABD', 'credit'],
    ]) {
      expect((await ctx.app.api('POST', '/v1/accounts', { body: { code, currency: 'INR', normalSide } })).status).toBe(201);
    }
    const [{ opened }] = (
      await ctx.db.query(`SELECT max(h.at) AS opened FROM account_history h JOIN accounts a ON a.id = h.account_id
      WHERE a.code IN ('external:bd', 'parent:CABD')`)
    ).rows;
    await new Promise((r) => setTimeout(r, 30));
    await fillLedger(ctx, 'bd', 2);
    const moment = new Date(opened.getTime() + 5).toISOString();
    const before = (await ctx.app.api('GET', `/v1/accounts/parent:CABD?asOf=${moment}`)).body;

    // Balanced, with history that continues each account's, queued for the sealer like any transaction.
    const forged = randomUUID();
    const acc = (await ctx.db.query(`SELECT id, code FROM accounts WHERE code IN ('external:bd', 'parent:CABD')`)).rows;
    const debit = acc.find((a) => a.code === 'external:bd').id,
      credit = acc.find((a) => a.code === 'parent:CABD').id;
    await asOwner(ctx.db, [
      [`INSERT INTO journal_transactions (id, kind, description, created_at) VALUES ($1, 'posted', 'backdated', $2)`, [forged, moment]],
      [
        `INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency, created_at)
        VALUES ($1, $2, 'debit', 700000, 'INR', $4), ($1, $3, 'credit', 700000, 'INR', $4)`,
        [forged, debit, credit, moment],
      ],
      [
        `INSERT INTO account_history (account_id, seq, transaction_id, event, at, d_posted_debits, d_posted_credits,
          pending_debits, pending_credits, posted_debits, posted_credits)
        VALUES ($2, 1, $1, 'journal', $4, 700000, 0, 0, 0, 700000, 0), ($3, 1, $1, 'journal', $4, 0, 700000, 0, 0, 0, 700000)`,
        [forged, debit, credit, moment],
      ],
      [`UPDATE accounts SET posted_debits = 700000, history_seq = 1, history_at = $2 WHERE id = $1`, [debit, moment]],
      [`UPDATE accounts SET posted_credits = 700000, history_seq = 1, history_at = $2 WHERE id = $1`, [credit, moment]],
      [`INSERT INTO journal_unsealed (transaction_id, created_at) VALUES ($1, $2)`, [forged, moment]],
    ]);
    expect((await ctx.app.api('GET', `/v1/accounts/parent:CABD?asOf=${moment}`)).body).not.toEqual(before); // the past moved
    await ctx.app.app.get(SealerService).sealPending();
    expect((await ctx.db.query(`SELECT 1 FROM journal_seals WHERE transaction_id = $1`, [forged])).rowCount).toBe(1);
    expect(Object.values(await ledgerViolations(ctx.db)).flat()).toEqual([]);

    const r = await verify(ctx);
    expect(r.ok).toBe(false);
    expect(r.findings).toEqual(expect.arrayContaining([{ check: 'backdated', row: forged, message: expect.stringContaining('before') }]));
  });
});

describe('a transaction that commits late with its own (earlier) moment', () => {
  const ctx = useTestApp();

  it('should be sealed before later moments, so a late commit is never taken for a backdated one', async () => {
    await fillLedger(ctx, 'late', 1);
    for (const [code, normalSide] of [
      ['external:late', 'debit'],
      ['parent:CALATE', 'credit'],
    ]) {
      expect((await ctx.app.api('POST', '/v1/accounts', { body: { code, currency: 'INR', normalSide } })).status).toBe(201);
    }
    const acc = (await ctx.db.query(`SELECT id FROM accounts WHERE code IN ('external:late', 'parent:CALATE') ORDER BY id`)).rows;
    const late = randomUUID();
    // A writer takes its moment and holds its commit (the ledger's own SQL, as a slow settlement would).
    await ctx.db.query('BEGIN');
    await ctx.db.query(`SELECT ledger_begin_moment($1::bigint[])`, [acc.map((a) => a.id)]);
    await ctx.db.query(
      `WITH t AS (INSERT INTO journal_transactions (id, kind, description) VALUES ($1, 'posted', 'late') RETURNING id)
      INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
      SELECT t.id, x.a, x.d, 100, 'INR' FROM t, (VALUES ($2::bigint, 'debit'), ($3::bigint, 'credit')) AS x(a, d)`,
      [late, acc[0].id, acc[1].id],
    );
    await ctx.db.query(
      `SELECT ledger_apply_deltas(ARRAY[$1, $1]::uuid[], ARRAY['journal', 'journal'], ARRAY[NULL, NULL]::uuid[],
      ARRAY[$2, $3]::bigint[], ARRAY[0, 0]::bigint[], ARRAY[0, 0]::bigint[], ARRAY[100, 0]::bigint[], ARRAY[0, 100]::bigint[])`,
      [late, acc[0].id, acc[1].id],
    );
    await ctx.db.query(`INSERT INTO journal_unsealed (transaction_id) VALUES ($1)`, [late]);
    expect((await funding(ctx, 'committed first, later moment')).status).toBe(201);
    await ctx.app.app.get(SealerService).sealPending();
    await ctx.db.query('COMMIT');
    await ctx.app.app.get(SealerService).sealPending();
    const order = (
      await ctx.db.query(`SELECT t.description FROM journal_seals s JOIN journal_transactions t ON t.id = s.transaction_id
      ORDER BY s.seq DESC LIMIT 2`)
    ).rows.map((r) => r.description);
    expect(order).toEqual(['committed first, later moment', 'late']);
    expect(await verify(ctx)).toMatchObject({ ok: true, findings: [] });
  });
});

describe('balance history changed without a journal entry', () => {
  const ctx = useTestApp();

  it("should name the history row whose movement is not its transaction's entries, though the running sums continue", async () => {
    await fillLedger(ctx, 'hist', 3);
    expect(await verify(ctx)).toMatchObject({ ok: true });
    // A temporary 500.00 on external:fund between its first two movements: a past balance changes, the present does not.
    const [{ id }] = (await ctx.db.query(`SELECT id FROM accounts WHERE code = 'external:fund'`)).rows;
    await asOwner(ctx.db, [
      [
        `UPDATE account_history SET d_posted_debits = d_posted_debits + 50000, posted_debits = posted_debits + 50000
        WHERE account_id = $1 AND seq = 1`,
        [id],
      ],
      [`UPDATE account_history SET d_posted_debits = d_posted_debits - 50000 WHERE account_id = $1 AND seq = 2`, [id]],
    ]);
    const v = await ledgerViolations(ctx.db);
    expect(v.historyDiffersFromEntries).toEqual(expect.arrayContaining([expect.objectContaining({ row: 'external:fund#1' })]));
    const r = await verify(ctx);
    expect(r.ok).toBe(false);
    expect(r.findings).toEqual(
      expect.arrayContaining([
        { check: 'historyDiffersFromEntries', row: 'external:fund#1', message: expect.any(String) },
        { check: 'historyDiffersFromEntries', row: 'external:fund#2', message: expect.any(String) },
      ]),
    );
  });
});

describe('an entry and a history row naming nothing, written with the triggers off', () => {
  const ctx = useTestApp();

  it('should be named by the verifier (invariant 11), which the other checks would not', async () => {
    await fillLedger(ctx, 'refs', 2);
    const [{ id }] = (await ctx.db.query(`SELECT id FROM accounts WHERE code = 'external:fund'`)).rows;
    await asOwner(ctx.db, [
      [
        `INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
         SELECT $1, $2, d, 100, 'INR' FROM unnest(ARRAY['debit', 'credit']) AS d`,
        [randomUUID(), id],
      ],
      [
        `INSERT INTO account_history (account_id, seq, event, pending_debits, pending_credits, posted_debits, posted_credits)
        VALUES (987654321, 0, 'opening', 0, 0, 0, 0)`,
      ],
    ]);
    const v = await ledgerViolations(ctx.db);
    expect(v.danglingReferences.map((r) => (r as { row: string }).row).sort()).toEqual([
      expect.stringMatching(/^entry:\d+$/),
      expect.stringMatching(/^entry:\d+$/),
      'history:987654321#0',
    ]);
    const broken = Object.entries(v)
      .filter(([, rows]) => rows.length > 0)
      .map(([name]) => name);
    expect(broken).toEqual(['danglingReferences']);
    const r = await verify(ctx);
    expect(r.ok).toBe(false);
    expect(r.findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ check: 'danglingReferences', row: 'history:987654321#0' })]),
    );
  });
});

describe("a load's rows naming nothing, written with the triggers off", () => {
  const ctx = useTestApp();

  it('should each be named by the verifier (invariant 11)', async () => {
    await fillLedger(ctx, 'lrefs', 1);
    const nowhere = randomUUID();
    await asOwner(ctx.db, [
      [`INSERT INTO load_events (load_id, type, outcome, actor) VALUES ($1, 'note', 'pending', 'owner')`, [nowhere]],
      [`INSERT INTO sync_jobs (load_id) VALUES ($1)`, [nowhere]],
      [`INSERT INTO journal_unsealed (transaction_id) VALUES ($1)`, [nowhere]],
      [
        `INSERT INTO journal_transactions (id, kind, pending_id) VALUES ('00000000-0000-4000-8000-0000000000d1', 'void_pending', $1),
                                                              ('00000000-0000-4000-8000-0000000000d2', 'posted', NULL)`,
        [nowhere],
      ],
      [`UPDATE journal_transactions SET undoes_id = $1 WHERE id = '00000000-0000-4000-8000-0000000000d2'`, [nowhere]],
    ]);
    const named = (await ledgerViolations(ctx.db)).danglingReferences.map((r) => (r as { row: string }).row).sort();
    expect(named).toEqual(
      [
        `load event:${(await ctx.db.query(`SELECT id FROM load_events WHERE load_id = $1`, [nowhere])).rows[0].id}`,
        `sync job:${nowhere}`,
        'transaction:00000000-0000-4000-8000-0000000000d1',
        'transaction:00000000-0000-4000-8000-0000000000d2',
        `unsealed:${nowhere}`,
      ].sort(),
    );
    expect((await verify(ctx)).findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ check: 'danglingReferences', row: `sync job:${nowhere}` })]),
    );
  });
});

describe('a stored verdict rewritten by the owner of the tables', () => {
  const ctx = useTestApp();

  it('should not be served as the latest verification: its signature does not verify', async () => {
    await fillLedger(ctx, 'verdict', 1);
    const real = await verify(ctx);
    expect((await ctx.app.api('GET', '/v1/audit/verify/latest')).body).toEqual(real);
    // The stored result edited: what is served is still what the verifier said.
    await asOwner(ctx.db, [[`UPDATE audit_verifications SET result = result || '{"checkedTransactions": 999999}'`]]);
    expect((await ctx.app.api('GET', '/v1/audit/verify/latest')).body).toEqual(real);
    // A pass made up from nothing (a copy of a real one, newer) is answered as a failed verification naming it.
    await asOwner(ctx.db, [
      [
        `INSERT INTO audit_verifications (trigger, started_at, ok, checked_transactions, findings_count, result)
      SELECT 'manual', now(), true, 1, 0, result || jsonb_build_object('finishedAt', now()) FROM audit_verifications LIMIT 1`,
      ],
    ]);
    const latest = (await ctx.app.api('GET', '/v1/audit/verify/latest')).body;
    expect(latest).toMatchObject({
      ok: false,
      findings: [expect.objectContaining({ check: 'verdict', row: expect.stringMatching(/^verification#/) })],
    });
    expect((await ctx.app.api('GET', '/metrics', { key: null })).text).toMatch(/^card_ledger_audit_verify_ok 0$/m);
  });
});
