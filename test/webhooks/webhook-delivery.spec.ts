import { verifyWebhookSignature } from '../../src/webhooks/webhook-signature';
import { waitFor, waitForStatus } from '../sync/sync-harness';
import { apiKey, deliveryLog, loadWith, subscribe, useWebhookApp, webhookEnv } from './harness';
import { Received } from './receiver';

webhookEnv({ WEBHOOK_TIMEOUT_MS: '2000' });

const bodyOf = (r: Received) => JSON.parse(r.body) as { id: string; type: string; createdAt: string; data: { id: string; status: string } };

describe('webhook delivery (app + EnKash simulator + a receiver over real HTTP)', () => {
  // One attempt budget: a load whose send fails goes to needs_review at once (an event to deliver). A 3 s deadline
  // rather than the fast 400 ms, so that a call slowed by a loaded CI machine does not send a load there too.
  const ctx = useWebhookApp({ SYNC_MAX_ATTEMPTS: '1', ENKASH_TIMEOUT_MS: '3000', SYNC_LEASE_MS: '8000' });

  it('should POST the load document, signed so that the helper verifies it, only to subscriptions that may see the load', async () => {
    const [alice, bob] = [await apiKey(ctx.app, ['loads:write']), await apiKey(ctx.app, ['loads:write'])];
    const mine = await subscribe(ctx.app, alice, `${ctx.rx.url}/alice`);
    const admin = await subscribe(ctx.app, undefined, `${ctx.rx.url}/admin`, ['card_load.posted']);
    const a = await loadWith(ctx.app, alice, 'EKCWHK0001', '15.00');
    const b = await loadWith(ctx.app, bob, 'EKCWHK0002', '16.00');
    await waitFor('the admin subscription to hear both loads', async () => ctx.rx.accepted('/admin').length >= 2);
    const [got] = await waitFor('alice to hear her load', async () => ctx.rx.accepted('/alice').length >= 1 && ctx.rx.accepted('/alice'));

    const body = bodyOf(got);
    expect(body).toMatchObject({ type: 'card_load.posted', data: { id: a.id, status: 'posted' } });
    expect(body.data).toEqual((await ctx.app.api('GET', `/v1/card-loads/${a.id}`, { key: alice })).body);
    expect(got.headers['card-ledger-event-id']).toBe(body.id);
    expect(got.headers['card-ledger-event-type']).toBe('card_load.posted');
    expect(got.headers['content-type']).toBe('application/json');
    const signature = String(got.headers['card-ledger-signature']);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(got.body, signature, mine.secret)).toBe(true);
    expect(verifyWebhookSignature(got.body.replace('"15.00"', '"99.00"'), signature, mine.secret)).toBe(false);
    expect(verifyWebhookSignature(got.body, signature, admin.secret)).toBe(false);
    const t0 = Number(/t=(\d+)/.exec(signature)![1]);
    expect(verifyWebhookSignature(got.body, signature, mine.secret, 300, t0 + 301)).toBe(false);

    // Bob's load was never queued for Alice; the admin subscription heard both.
    const queued = await ctx.db.query(`SELECT load_id FROM webhook_deliveries WHERE subscription_id = $1`, [mine.id]);
    expect(queued.rows).toEqual([{ load_id: a.id }]);
    expect(
      ctx.rx
        .accepted('/admin')
        .map((r) => bodyOf(r).data.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    expect((await ctx.app.api('DELETE', `/v1/webhooks/${admin.id}`)).status).toBe(200);
  });

  it('should deliver every event exactly once, in order per load, to a receiver that fails and then recovers', async () => {
    const carol = await apiKey(ctx.app, ['loads:write']);
    ctx.rx.set('/carol', 'fail');
    const sub = await subscribe(ctx.app, carol, `${ctx.rx.url}/carol`);
    const posted = await loadWith(ctx.app, carol, 'EKCWHK0003', '1.00');
    await waitForStatus(ctx.app, posted.id, ['posted']);
    const review = await loadWith(ctx.app, carol, 'EKCWHK0004', '2.00');
    ctx.sim.state.injectFault({ fault: 'http-503', reference: review.reference, count: 5 });
    await waitForStatus(ctx.app, review.id, ['needs_review']);
    const resolved = await ctx.app.api('POST', `/v1/card-loads/${review.id}/resolve`, {
      body: { outcome: 'posted', reason: 'confirmed by EnKash' },
    });
    expect(resolved.status).toBe(200);
    ctx.sim.state.setConfig({ parentBalanceMinor: 100n });
    let reversed: { id: string };
    try {
      reversed = await loadWith(ctx.app, carol, 'EKCWHK0005', '3.00');
      await waitForStatus(ctx.app, reversed.id, ['reversed']);
    } finally {
      ctx.sim.state.setConfig({ parentBalanceMinor: 10_000_000_000n });
    }

    // While the receiver fails, the review load's "posted" waits behind its "needs_review", never attempted.
    const attemptsOf = async (loadId: string, type: string) =>
      (await deliveryLog(ctx.app, carol, sub.id)).find((d) => d.loadId === loadId && d.type === type)?.attempts.length ?? -1;
    await waitFor('needs_review to be retried', async () => (await attemptsOf(review.id, 'card_load.needs_review')) >= 3);
    expect(await attemptsOf(review.id, 'card_load.posted')).toBe(0);
    ctx.rx.set('/carol', 'ok');

    const log = await waitFor('every delivery to succeed', async () => {
      const l = await deliveryLog(ctx.app, carol, sub.id);
      return l.length === 4 && l.every((d) => d.status === 'delivered') && l;
    });
    const accepted = ctx.rx.accepted('/carol').map(bodyOf);
    expect(accepted.map((e) => e.id).sort()).toEqual(log.map((d) => d.id).sort()); // each event acknowledged once
    const typesOf = (loadId: string) => accepted.filter((e) => e.data.id === loadId).map((e) => `${e.type}:${e.data.status}`);
    expect(typesOf(posted.id)).toEqual(['card_load.posted:posted']);
    expect(typesOf(review.id)).toEqual(['card_load.needs_review:needs_review', 'card_load.posted:posted']);
    expect(typesOf(reversed!.id)).toEqual(['card_load.reversed:reversed']);
    for (const r of ctx.rx.received.filter((x) => x.path === '/carol')) {
      expect(verifyWebhookSignature(r.body, String(r.headers['card-ledger-signature']), sub.secret)).toBe(true);
    }
    // The log keeps every attempt: the refusals, then the success.
    const first = log.find((d) => d.loadId === review.id && d.type === 'card_load.needs_review')!;
    const failures = first.attempts.slice(0, -1);
    expect(failures.length).toBeGreaterThanOrEqual(3);
    for (const a of failures)
      expect(a).toMatchObject({ status: 'http_error', httpStatus: 500, error: expect.stringContaining('receiver is down') });
    expect(first.attempts[first.attempts.length - 1]).toMatchObject({ status: 'succeeded', httpStatus: 204, error: null });
    expect(first.attempts.every((a) => Number.isInteger(a.durationMs) && a.durationMs >= 0)).toBe(true);
  });

  it('should redeliver an event on request, with the same id, for its owner only', async () => {
    const dave = await apiKey(ctx.app, ['loads:write']);
    const sub = await subscribe(ctx.app, dave, `${ctx.rx.url}/dave`, ['card_load.posted']);
    const load = await loadWith(ctx.app, dave, 'EKCWHK0006', '4.00');
    const [delivery] = await waitFor('the first delivery', async () => {
      const l = await deliveryLog(ctx.app, dave, sub.id);
      return l.length === 1 && l[0].status === 'delivered' && l;
    });
    expect(delivery.loadId).toBe(load.id);
    const other = await apiKey(ctx.app, ['loads:write']);
    const path = `/v1/webhooks/${sub.id}/deliveries/${delivery.id}/redeliver`;
    expect((await ctx.app.api('POST', path, { key: other })).status).toBe(404);
    const again = await ctx.app.api('POST', path, { key: dave });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: delivery.id, status: 'pending' });
    await waitFor('the second copy', async () => ctx.rx.accepted('/dave').length >= 2);
    const [one, two] = ctx.rx.accepted('/dave');
    expect(two.headers['card-ledger-event-id']).toBe(one.headers['card-ledger-event-id']);
    expect(bodyOf(two)).toEqual(bodyOf(one));
    const log = await waitFor('the log to show both', async () => {
      const [d] = await deliveryLog(ctx.app, dave, sub.id);
      return d.status === 'delivered' && d.attempts.length === 2 && d;
    });
    expect(log.attempts.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
    expect(
      (await ctx.app.api('POST', `/v1/webhooks/${sub.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`, { key: dave })).status,
    ).toBe(404);
  });
});
