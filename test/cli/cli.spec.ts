import { existsSync } from 'node:fs';
import { AuditEventsStore } from '../../src/audit-trail/audit-events.store';
import { AuditTrail } from '../../src/audit-trail/audit-trail.service';
import { ApiKeysStore } from '../../src/auth/api-keys.store';
import { WebhookSubscriptionsStore } from '../../src/webhooks/webhook-subscriptions.store';
import { ApiKeysService } from '../../src/auth/api-keys.service';
import { SealerService } from '../../src/ledger/sealer.service';
import { ADMIN_KEY, AUDIT_KEY, useTestApp } from '../support/app';
import { CLI, CliRun, runCli } from '../support/cli';

/** Polls until `probe` returns `want` or 15 s pass; returns the last answer. */
async function eventually<T>(probe: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + 15_000;
  let last = await probe();
  while (last !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    last = await probe();
  }
  return last;
}

describe('operator CLI', () => {
  beforeAll(() => {
    expect(existsSync(CLI)).toBe(true); // npm test builds first (pretest)
  });
  const ctx = useTestApp();
  // With the service's audit key, as an operator runs it beside the service: its audit events carry their MACs.
  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: ctx.app.databaseUrl, AUDIT_SEAL_KEY: AUDIT_KEY });
  const json = (r: CliRun) => JSON.parse(r.stdout);

  /** A pending load through the real API (no ENKASH_BASE_URL in the test app, so no worker settles it). */
  const createLoad = async (key: string, amount: string): Promise<string> => {
    const res = await ctx.app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: 'EKCCLI0001', amount },
      headers: { 'idempotency-key': key },
    });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  /** What the worker does when a load runs out of budget (SettlementService.markNeedsReview). */
  const sendToReview = async (loadId: string) => {
    await ctx.db.query(`UPDATE card_loads SET status = 'needs_review', status_reason = 'test' WHERE id = $1`, [loadId]);
    await ctx.db.query(`UPDATE sync_jobs SET due_at = 'infinity', attempts = 7 WHERE load_id = $1`, [loadId]);
  };

  it('should refuse to run without DATABASE_URL and say so, with exit code 2', async () => {
    const r = await runCli(['verify'], { DATABASE_URL: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DATABASE_URL is not set');
    const usage = await cli('keys', 'create', '--name', 'x');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--scopes');
  });

  it('should create a key printed once, list it without the secret, and revoke it so it stops authenticating', async () => {
    const created = await cli('keys', 'create', '--name', 'billing-cli', '--scopes', 'loads:write,ledger:read', '--json');
    expect(created.code).toBe(0);
    const key = json(created);
    expect(key).toMatchObject({
      name: 'billing-cli',
      scopes: ['loads:write', 'ledger:read'],
      revokedAt: null,
      key: expect.stringMatching(/^ckl_/),
    });
    expect(await ctx.app.app.get(ApiKeysService).authenticate(key.key)).toMatchObject({ apiKeyId: key.id, name: 'billing-cli' });
    expect((await ctx.app.api('GET', '/v1/card-loads', { key: key.key })).status).toBe(200);

    const human = await cli('keys', 'create', '--name', 'ops-cli', '--scopes', 'ops:write');
    expect(human.code).toBe(0);
    expect(human.stdout.match(/ckl_\S+/g)).toHaveLength(1);

    const listed = await cli('keys', 'list', '--json');
    expect(listed.code).toBe(0);
    expect(json(listed).data.map((k: { id: string }) => k.id)).toContain(key.id);
    const table = await cli('keys', 'list');
    expect(table.stdout).toContain(key.id);
    expect(listed.stdout + table.stdout).not.toContain(key.key);
    // The bootstrap key's stored prefix is the start of ADMIN_API_KEY itself: never shown.
    expect(listed.stdout + table.stdout).not.toContain(ADMIN_KEY.slice(0, 8));

    const revoked = await cli('keys', 'revoke', key.id, '--json');
    expect(revoked.code).toBe(0);
    expect(json(revoked)).toMatchObject({ id: key.id, revokedAt: expect.any(String) });
    // A fresh service (another instance) asks the database; the running app may answer from its key cache for a few seconds.
    const auditTrail = new AuditTrail(new AuditEventsStore(ctx.app.ds));
    const keys = new ApiKeysService(ctx.app.ds, auditTrail, new ApiKeysStore(ctx.app.ds), new WebhookSubscriptionsStore(ctx.app.ds));
    expect(await keys.authenticate(key.key)).toBeNull();
    const { rows } = await ctx.db.query(`SELECT revoked_at FROM api_keys WHERE id = $1`, [key.id]);
    expect(rows[0].revoked_at).toBeInstanceOf(Date);
    expect(await eventually(async () => (await ctx.app.api('GET', '/v1/card-loads', { key: key.key })).status, 401)).toBe(401);
    // Both are in the audit trail, as the CLI's account did them.
    const trail = await ctx.db.query(`SELECT action, actor, details FROM audit_events WHERE subject = $1 ORDER BY seq`, [key.id]);
    const byCli = expect.stringMatching(/^cli \(.+\)$/);
    expect(trail.rows).toEqual([
      { action: 'api_key.created', actor: byCli, details: { name: 'billing-cli', scopes: ['loads:write', 'ledger:read'] } },
      { action: 'api_key.revoked', actor: byCli, details: expect.objectContaining({ name: 'billing-cli' }) },
    ]);

    const missing = await cli('keys', 'revoke', '00000000-0000-4000-8000-000000000000', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr).error.code).toBe('not_found');
  });

  it('should refuse a scope that does not exist and the bootstrap key name', async () => {
    expect((await cli('keys', 'create', '--name', 'x', '--scopes', 'root')).code).toBe(2);
    expect((await cli('keys', 'create', '--name', 'bootstrap-admin', '--scopes', 'admin')).code).toBe(2);
  });

  it('should re-queue a load in needs_review and refuse one that is not', async () => {
    const pending = await createLoad('cli-rq-1', '10.00');
    const refused = await cli('requeue', pending, '--json');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr).error.code).toBe('invalid_state');
    expect(
      (await ctx.db.query(`SELECT count(*)::int AS n FROM load_events WHERE load_id = $1 AND type = 'requeued'`, [pending])).rows[0].n,
    ).toBe(0);

    const stuck = await createLoad('cli-rq-2', '20.00');
    await sendToReview(stuck);
    const one = await cli('requeue', stuck, '--json');
    expect(one.code).toBe(0);
    expect(json(one)).toEqual({ requeued: [stuck], skipped: [] });
    const job = await ctx.db.query(`SELECT attempts, due_at <= now() AS due FROM sync_jobs WHERE load_id = $1`, [stuck]);
    expect(job.rows[0]).toEqual({ attempts: 0, due: true });
    const events = await ctx.db.query(`SELECT type, actor FROM load_events WHERE load_id = $1 AND type = 'requeued'`, [stuck]);
    expect(events.rows).toEqual([{ type: 'requeued', actor: expect.stringMatching(/^cli \(.+\)$/) }]);

    const other = await createLoad('cli-rq-3', '30.00');
    await sendToReview(other);
    const all = await cli('requeue', '--all-review', '--json');
    expect(all.code).toBe(0);
    // `stuck` is queued already (no worker runs here): a requeue never touches a job that is due or in flight.
    expect(json(all).requeued).toEqual([other]);
    expect(json(all).skipped).toEqual([{ loadId: stuck, reason: expect.stringContaining('already queued') }]);

    expect((await cli('requeue', '00000000-0000-4000-8000-000000000000')).code).toBe(1);
    expect((await cli('requeue')).code).toBe(2);
  });

  it('should summarise loads by status with decimal amounts and the age of the oldest open load', async () => {
    const r = await cli('reconciliation', '--json');
    expect(r.code).toBe(0);
    const report = json(r);
    const { rows } = await ctx.db.query(`SELECT status, count(*)::int AS n, sum(amount)::text AS amount FROM card_loads GROUP BY status`);
    for (const row of rows) {
      expect(report.loads).toContainEqual({
        currency: 'INR',
        status: row.status,
        count: row.n,
        amount: (Number(row.amount) / 100).toFixed(2),
      });
    }
    expect(report.loads.find((l: { status: string }) => l.status === 'posted')).toEqual({
      currency: 'INR',
      status: 'posted',
      count: 0,
      amount: '0.00',
    });
    const oldest = await ctx.db.query(`SELECT id FROM card_loads WHERE status = 'pending' ORDER BY created_at, id LIMIT 1`);
    expect(report.oldestOpen.pending).toMatchObject({ loadId: oldest.rows[0].id, ageSeconds: expect.any(Number) });
    expect(report.oldestOpen.needs_review).not.toBeNull();

    const human = await cli('reconciliation');
    expect(human.stdout).toMatch(/INR\s+needs_review\s+2\s+50\.00/);
    expect(human.stdout).toContain('oldest pending:');

    const future = await cli('reconciliation', '--from', '2999-01-01T00:00:00Z', '--json');
    expect(json(future)).toMatchObject({ loads: [], oldestOpen: { pending: null, needs_review: null } });
    expect((await cli('reconciliation', '--from', 'yesterday')).code).toBe(2);
  });

  // Last: the tamper leaves this database's chain broken for good.
  it('should exit 0 on an intact chain and 1 naming the first link a superuser edited', async () => {
    await createLoad('cli-verify-1', '1.00');
    await ctx.app.app.get(SealerService).sealPending();
    const ok = await cli('verify', '--json');
    expect(ok.code).toBe(0);
    expect(json(ok)).toMatchObject({ ok: true, unsealedTransactions: 0 });
    expect(json(ok).checkedTransactions).toBeGreaterThan(0);
    expect((await cli('verify')).stdout).toContain('hash chain ok');

    const victim = await ctx.db.query(`SELECT transaction_id, seq FROM journal_seals ORDER BY seq LIMIT 1 OFFSET 1`);
    await ctx.db.query(`SET session_replication_role = replica`); // a superuser bypassing the append-only triggers
    await ctx.db.query(`UPDATE journal_entries SET amount = amount + 100 WHERE transaction_id = $1`, [victim.rows[0].transaction_id]);
    await ctx.db.query(`SET session_replication_role = origin`);
    const broken = await cli('verify', '--json');
    expect(broken.code).toBe(1);
    expect(json(broken)).toMatchObject({ ok: false, brokenAt: victim.rows[0].transaction_id, seq: Number(victim.rows[0].seq) });
    const text = await cli('verify');
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`BROKEN at journal transaction ${victim.rows[0].transaction_id}`);
  });
});
