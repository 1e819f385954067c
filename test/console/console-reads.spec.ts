import { waitFor, waitForStatus } from '../sync/sync-harness';
import { apiKey, loadWith, subscribe, useWebhookApp, webhookEnv } from '../webhooks/harness';

webhookEnv({});

/**
 * The reads the console's pages need, added to the features that own the data: a load's journal transactions
 * (GET /v1/journal?loadId=), the webhook deliveries it caused (GET /v1/webhooks/deliveries?loadId=), the review
 * queue oldest first (GET /v1/card-loads?order=asc) and the reconciliation runs (GET /v1/reports/reconciliation/runs).
 */
describe('reads for the console', () => {
  const ctx = useWebhookApp();

  it('should list the journal transactions one load made, and only those', async () => {
    const a = await loadWith(ctx.app, await apiKey(ctx.app, ['loads:write']), 'EKCREADS01', '12.00');
    const b = await loadWith(ctx.app, await apiKey(ctx.app, ['loads:write']), 'EKCREADS01', '13.00');
    await waitForStatus(ctx.app, a.id, ['posted']);
    await waitForStatus(ctx.app, b.id, ['posted']);
    const load = (await ctx.app.api('GET', `/v1/card-loads/${a.id}`)).body;
    const res = await ctx.app.api('GET', `/v1/journal?loadId=${a.id}`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((t: { kind: string }) => t.kind)).toEqual(['pending', 'post_pending']);
    expect(res.body.data[0].id).toBe(load.journalTransactionId);
    expect(res.body.data[1].pendingId).toBe(load.journalTransactionId);
    // An undo is the load's too.
    await ctx.app.api('POST', `/v1/card-loads/${a.id}/undo`, { body: { reason: 'EnKash reversed it (ticket 1)' } });
    const after = (await ctx.app.api('GET', `/v1/journal?loadId=${a.id}`)).body.data;
    expect(after.map((t: { kind: string; undoesId: string | null }) => [t.kind, t.undoesId !== null])).toEqual([
      ['pending', false],
      ['post_pending', false],
      ['posted', true],
    ]);
    const bad = await ctx.app.api('GET', '/v1/journal?loadId=nope');
    expect([bad.status, bad.body.error.details[0].field]).toEqual([400, 'loadId']);
    expect((await ctx.app.api('GET', '/v1/journal?loadId=00000000-0000-4000-8000-000000000000')).body.data).toEqual([]);
  });

  it('should list the webhook deliveries one load caused, across the subscriptions the key may see', async () => {
    const alice = await apiKey(ctx.app, ['loads:write']);
    const bob = await apiKey(ctx.app, ['loads:write']);
    const hers = await subscribe(ctx.app, alice, `${ctx.rx.url}/alice`);
    const all = await subscribe(ctx.app, undefined, `${ctx.rx.url}/admin`);
    const load = await loadWith(ctx.app, alice, 'EKCREADS02', '14.00');
    await waitFor(
      'both subscriptions to hear the load',
      async () => ctx.rx.accepted('/alice').length >= 1 && ctx.rx.accepted('/admin').some((r) => r.body.includes(load.id)),
    );
    const asAdmin = await waitFor('both deliveries logged as delivered', async () => {
      const res = await ctx.app.api('GET', `/v1/webhooks/deliveries?loadId=${load.id}`);
      return res.body.data.length === 2 && res.body.data.every((d: { status: string }) => d.status === 'delivered') && res.body;
    });
    expect(asAdmin.data.map((d: { subscriptionId: string }) => d.subscriptionId).sort()).toEqual([hers.id, all.id].sort());
    for (const d of asAdmin.data) {
      expect(d).toMatchObject({
        loadId: load.id,
        type: 'card_load.posted',
        attempts: [expect.objectContaining({ status: 'succeeded', httpStatus: 204 })],
      });
    }
    const asAlice = (await ctx.app.api('GET', `/v1/webhooks/deliveries?loadId=${load.id}`, { key: alice })).body.data;
    expect(asAlice.map((d: { subscriptionId: string }) => d.subscriptionId)).toEqual([hers.id]);
    expect((await ctx.app.api('GET', `/v1/webhooks/deliveries?loadId=${load.id}`, { key: bob })).body.data).toEqual([]);
    const missing = await ctx.app.api('GET', '/v1/webhooks/deliveries');
    expect([missing.status, missing.body.error.details[0].field]).toEqual([400, 'loadId']);
  });

  it('should list loads oldest first with order=asc, paging the same set as newest first', async () => {
    for (let i = 0; i < 5; i++) await loadWith(ctx.app, await apiKey(ctx.app, ['loads:write']), 'EKCREADS03', `${i + 1}.00`);
    const desc = (await ctx.app.api('GET', '/v1/card-loads?enKashCardId=EKCREADS03&limit=500')).body.data.map((l: { id: string }) => l.id);
    const asc: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: Array<{ id: string }>; nextCursor: string | null } } = await ctx.app.api(
        'GET',
        `/v1/card-loads?enKashCardId=EKCREADS03&order=asc&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      asc.push(...page.body.data.map((l) => l.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(asc).toEqual([...desc].reverse());
    expect((await ctx.app.api('GET', '/v1/card-loads?order=up')).status).toBe(400);
  });

  it('should list reconciliation runs newest first', async () => {
    const first = (await ctx.app.api('POST', '/v1/reports/reconciliation/runs')).body;
    const second = (await ctx.app.api('POST', '/v1/reports/reconciliation/runs')).body;
    const page = await ctx.app.api('GET', '/v1/reports/reconciliation/runs?limit=1');
    expect(page.status).toBe(200);
    expect(page.body.data.map((r: { id: string }) => r.id)).toEqual([second.id]);
    const next = (await ctx.app.api('GET', `/v1/reports/reconciliation/runs?limit=1&cursor=${page.body.nextCursor}`)).body;
    const { findings: _findings, ...firstRun } = first;
    expect(next.data).toEqual([firstRun]);
    expect((await ctx.app.api('GET', '/v1/reports/reconciliation/runs?cursor=zzz')).status).toBe(400);
  });
});
