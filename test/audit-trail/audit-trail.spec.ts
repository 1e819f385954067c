import { auditContent, auditHash } from '../../src/audit-trail/audit-trail';
import { AuditEventsStore } from '../../src/audit-trail/audit-events.store';
import { verifyAuditTrail } from '../../src/audit-trail/audit-trail.verify';
import { loadConfig } from '../../src/config/app-config';
import { AUDIT_KEYS, AuditKeys } from '../../src/ledger/audit-keys';
import { startRuntime } from '../../src/runtime';
import { parseCsv } from '../support/csv';
import { createTestDatabase, sql } from '../support/db';
import { createLoad, useSyncApp, waitForStatus } from '../sync/sync-harness';
import { webhookEnv } from '../webhooks/harness';
import { AuditEventView } from '../../src/audit-trail/audit-events.service';

webhookEnv({}); // a subscription to 127.0.0.1 (nothing listens: no delivery is awaited here)

type Event = AuditEventView;

/** The audit trail of admin actions (docs/audit-trail.md): complete, readable, append-only, and tamper-evident. */
describe('audit trail', () => {
  const ctx = useSyncApp({ SYNC_MAX_ATTEMPTS: '1' });
  const events = async (query = ''): Promise<Event[]> => (await ctx.app.api('GET', `/v1/audit/events?limit=500${query}`)).body.data;
  const withRequest = (id: string) => ({ headers: { 'x-request-id': id } });
  const keys = () => ctx.app.app.get<AuditKeys>(AUDIT_KEYS);

  it('should record every admin action with who, when, what and the request id', async () => {
    const t = ctx.app;
    const before = Date.now();
    const ops = (
      await t.api('POST', '/v1/api-keys', {
        body: { name: 'night-operator', scopes: ['ops:write', 'loads:write'] },
        ...withRequest('r-key'),
      })
    ).body;
    const hook = (
      await t.api('POST', '/v1/webhooks', {
        key: ops.key,
        body: { url: 'http://127.0.0.1:9/hooks', events: ['card_load.posted'] },
        ...withRequest('r-sub'),
      })
    ).body;
    await t.api('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { key: ops.key, body: { expiresInSeconds: 60 }, ...withRequest('r-rot') });
    await t.api('DELETE', `/v1/webhooks/${hook.id}`, { key: ops.key, ...withRequest('r-del') });

    // Two loads parked in review (EnKash answers 503 and the budget is one attempt): one resolved, then undone; one re-queued.
    ctx.sim.state.injectFault({ fault: 'http-503', endpoint: 'balance', count: 2 });
    const a = await createLoad(t, 'EKCAUDT001', '5.00');
    const b = await createLoad(t, 'EKCAUDT002', '6.00');
    await waitForStatus(t, a.id, ['needs_review']);
    await waitForStatus(t, b.id, ['needs_review']);
    expect(
      (
        await t.api('POST', `/v1/card-loads/${a.id}/resolve`, {
          key: ops.key,
          body: { outcome: 'posted', reason: 'EnKash ticket 9' },
          ...withRequest('r-resolve'),
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await t.api('POST', `/v1/card-loads/${a.id}/undo`, {
          key: ops.key,
          body: { reason: 'reversed by EnKash, ticket 10' },
          ...withRequest('r-undo'),
        })
      ).status,
    ).toBe(200);
    expect((await t.api('POST', `/v1/card-loads/${b.id}/requeue`, { key: ops.key, ...withRequest('r-requeue') })).status).toBe(200);
    expect((await t.api('POST', '/v1/reports/reconciliation/runs', { key: ops.key, ...withRequest('r-recon') })).status).toBe(201);
    expect((await t.api('DELETE', `/v1/api-keys/${ops.id}`, withRequest('r-revoke'))).status).toBe(200);

    const trail = (await events()).reverse();
    const byRequest = (id: string) => trail.find((e) => e.requestId === id)!;
    const admin = { actor: 'bootstrap-admin' };
    const operator = { actor: 'night-operator', apiKeyId: ops.id };
    expect(byRequest('r-key')).toMatchObject({
      ...admin,
      action: 'api_key.created',
      subject: ops.id,
      details: { name: 'night-operator', scopes: ['ops:write', 'loads:write'] },
    });
    expect(byRequest('r-sub')).toMatchObject({
      ...operator,
      action: 'webhook.subscribed',
      subject: hook.id,
      details: { url: 'http://127.0.0.1:9/hooks', events: ['card_load.posted'], allLoads: false },
    });
    expect(byRequest('r-rot')).toMatchObject({
      ...operator,
      action: 'webhook.secret_rotated',
      subject: hook.id,
      details: { previousSecretValidSeconds: 60 },
    });
    expect(byRequest('r-del')).toMatchObject({ ...operator, action: 'webhook.deleted', subject: hook.id });
    expect(byRequest('r-resolve')).toMatchObject({
      ...operator,
      action: 'card_load.resolved',
      subject: a.id,
      details: { outcome: 'posted', reason: 'resolved by operator: EnKash ticket 9' },
    });
    expect(byRequest('r-undo')).toMatchObject({
      ...operator,
      action: 'card_load.undone',
      subject: a.id,
      details: { reason: 'reversed by EnKash, ticket 10' },
    });
    expect(byRequest('r-requeue')).toMatchObject({ ...operator, action: 'card_load.requeued', subject: b.id });
    expect(byRequest('r-recon')).toMatchObject({
      ...operator,
      action: 'reconciliation.run',
      details: { trigger: 'manual', status: 'completed' },
    });
    expect(byRequest('r-revoke')).toMatchObject({ ...admin, action: 'api_key.revoked', subject: ops.id });
    for (const e of trail) {
      expect(Date.parse(e.at)).toBeGreaterThanOrEqual(before - 60_000);
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(trail.map((e) => e.seq)).toEqual(trail.map((_, i) => i + 1)); // gapless, in order
    // No secret in the trail: neither the webhook secret nor any key.
    const text = JSON.stringify(trail);
    expect(text).not.toContain(hook.secret);
    expect(text).not.toContain(ops.key);
    expect(await verifyAuditTrail(new AuditEventsStore(t.ds), keys())).toEqual({ ok: true, checkedEvents: trail.length, findings: [] });
  }, 60_000);

  it('should list newest first with keyset paging and filters, and export the same as CSV', async () => {
    const t = ctx.app;
    for (let i = 0; i < 3; i++) await t.api('POST', '/v1/api-keys', { body: { name: `paged-${i}`, scopes: ['ledger:read'] } });
    const all = await events();
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: Event[]; nextCursor: string | null } } = await t.api(
        'GET',
        `/v1/audit/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.data.map((e) => e.seq));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((e) => e.seq));
    expect(seen).toEqual([...seen].sort((x, y) => y - x));
    const created = await events('&action=api_key.created');
    expect(created.length).toBeGreaterThanOrEqual(3);
    expect(created.every((e) => e.action === 'api_key.created')).toBe(true);
    const one = await events(`&subject=${created[0].subject}`);
    expect(one.map((e) => e.seq)).toContain(created[0].seq);
    expect(await events(`&from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    expect((await t.api('GET', '/v1/audit/events?action=nope')).status).toBe(400);
    expect((await t.api('GET', '/v1/audit/events?cursor=xyz')).status).toBe(400);
    const opsOnly = (await t.api('POST', '/v1/api-keys', { body: { name: 'ops-only', scopes: ['ops:write'] } })).body.key;
    expect((await t.api('GET', '/v1/audit/events', { key: opsOnly })).status).toBe(403);

    const csv = await t.api('GET', '/v1/audit/events?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...rows] = parseCsv(csv.text);
    expect(header).toEqual(['seq', 'at', 'actor', 'apiKeyId', 'action', 'subject', 'requestId', 'details', 'hash']);
    expect(rows.map((r) => Number(r[0]))).toEqual((await events()).map((e) => e.seq));
    expect(JSON.parse(rows[0][7])).toEqual((await events())[0].details);
  });

  it('should refuse to edit, delete or truncate an event, or to add one that does not continue the chain', async () => {
    const c = ctx.db;
    await expect(c.query(`UPDATE audit_events SET actor = 'someone else' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(c.query(`DELETE FROM audit_events WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(c.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
    const zeros = `decode(repeat('00', 32), 'hex')`;
    await expect(
      c.query(`INSERT INTO audit_events (seq, at, actor, action, prev_hash, hash)
      VALUES (1000, now(), 'x', 'api_key.created', ${zeros}, ${zeros})`),
    ).rejects.toThrow(/continue the chain/);
  });

  it('should name the first event edited, removed or inserted by someone who got past the triggers', async () => {
    const c = ctx.db;
    const verdict = () => verifyAuditTrail(new AuditEventsStore(ctx.app.ds), keys());
    expect((await verdict()).ok).toBe(true);
    // The database owner can turn triggers off for a session (session_replication_role = replica).
    await c.query(`SET session_replication_role = replica`);
    try {
      const [second] = (await c.query(`SELECT seq, details FROM audit_events WHERE seq = 2`)).rows;
      await c.query(`UPDATE audit_events SET details = details || '{"name":"forged"}' WHERE seq = 2`);
      expect(await verdict()).toMatchObject({
        ok: false,
        checkedEvents: 1,
        findings: [{ check: 'auditTrail', row: 'audit#2', message: expect.stringMatching(/differs from what was recorded/) }],
      });
      await c.query(`UPDATE audit_events SET details = $1 WHERE seq = 2`, [second.details]);
      expect((await verdict()).ok).toBe(true);

      const [head] = (await c.query(`SELECT seq FROM audit_chain_head`)).rows;
      const [last] = (await c.query(`SELECT * FROM audit_events WHERE seq = $1`, [head.seq])).rows;
      await c.query(`DELETE FROM audit_events WHERE seq = $1`, [head.seq]);
      expect((await verdict()).findings[0].message).toMatch(/events were removed/);
      const bytes = (b: Buffer) => `\\x${b.toString('hex')}`;
      await c.query(`INSERT INTO audit_events SELECT * FROM json_populate_record(NULL::audit_events, $1)`, [
        JSON.stringify({
          ...last,
          prev_hash: bytes(last.prev_hash),
          hash: bytes(last.hash),
          mac: bytes(last.mac),
        }),
      ]);
      expect((await verdict()).ok).toBe(true);

      // The owner rewrites the last event and recomputes its hash and the head (public arithmetic): only the MAC tells.
      const [tail] = (await c.query(`SELECT * FROM audit_events WHERE seq = $1`, [head.seq])).rows;
      const forged = { ...tail, actor: 'someone else' };
      const forgedHash = auditHash(tail.prev_hash, auditContent(forged));
      await c.query(`UPDATE audit_events SET actor = $2, hash = $3 WHERE seq = $1`, [head.seq, forged.actor, forgedHash]);
      await c.query(`UPDATE audit_chain_head SET hash = $1`, [forgedHash]);
      expect((await verifyAuditTrail(new AuditEventsStore(ctx.app.ds), null)).ok).toBe(true); // without the key, nothing shows
      expect((await verdict()).findings[0]).toMatchObject({
        row: `audit#${head.seq}`,
        message: expect.stringMatching(/MAC does not match/),
      });
      expect((await ctx.app.api('GET', '/v1/audit/verify')).body.findings).toContainEqual(
        expect.objectContaining({ check: 'auditTrail', row: `audit#${head.seq}` }),
      );
      await c.query(`UPDATE audit_events SET actor = $2, hash = $3 WHERE seq = $1`, [head.seq, tail.actor, tail.hash]);
      await c.query(`UPDATE audit_chain_head SET hash = $1`, [tail.hash]);
      expect((await verdict()).ok).toBe(true);

      await c.query(`DELETE FROM audit_events WHERE seq = 3`);
      expect((await verdict()).findings[0]).toMatchObject({ row: 'audit#3', message: expect.stringMatching(/audit event 3 is missing/) });
    } finally {
      await c.query(`SET session_replication_role = DEFAULT`);
    }
  });

  it('should record each start of the service with the facts that decide where money goes, and no secret', async () => {
    const db = await createTestDatabase();
    const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', ADMIN_API_KEY: 'start-audit-admin-key-0123456789', ROLE: 'all' });
    const runtime = await startRuntime(config, { logger: false });
    try {
      const c = await sql(db.url);
      const { rows } = await c.query(`SELECT actor, action, details FROM audit_events WHERE action = 'service.started'`);
      await c.end();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        actor: 'service',
        details: { role: 'all', enkash: 'in-process simulator', encryption: 'off', forkPolicy: 'proceed', pid: process.pid },
      });
      expect(JSON.stringify(rows[0])).not.toMatch(/start-audit-admin-key|simulator-password|simulator-client-secret/);
    } finally {
      await runtime.close();
      await db.drop();
    }
  });
});
