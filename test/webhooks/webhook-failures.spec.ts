import { waitFor, waitForStatus } from '../sync/sync-harness';
import { apiKey, DeliveryLog, deliveryLog, loadWith, subscribe, useWebhookApp, webhookEnv } from './harness';

// A 4 s receiver timeout: were deliveries ever on the settlement path, loads would take that long to post.
webhookEnv({ WEBHOOK_TIMEOUT_MS: '4000', WEBHOOK_CONCURRENCY: '4', WEBHOOK_MAX_AGE_MS: '1500' });

describe('webhook failures (budget, ordering behind a failure, a hanging receiver)', () => {
  // One attempt, so an injected 503 sends a load to review at once. EnKash's deadline is 3 s rather than the fast
  // 400 ms: with a single attempt, one call slowed past the deadline by a loaded CI machine would send a load of the
  // hanging-receiver test to review too (the lease must be at least twice the deadline plus 2 s).
  const ctx = useWebhookApp({ SYNC_MAX_ATTEMPTS: '1', ENKASH_TIMEOUT_MS: '3000', SYNC_LEASE_MS: '8000' });

  const reviewThenPost = async (key: string, card: string) => {
    const load = await loadWith(ctx.app, key, card, '3.00');
    ctx.sim.state.injectFault({ fault: 'http-503', reference: load.reference, count: 5 });
    await waitForStatus(ctx.app, load.id, ['needs_review']);
    return load;
  };
  const resolvePosted = async (loadId: string) =>
    expect((await ctx.app.api('POST', `/v1/card-loads/${loadId}/resolve`, { body: { outcome: 'posted', reason: 'checked' } })).status).toBe(
      200,
    );
  const byType = (log: DeliveryLog[], type: string) => log.find((d) => d.type === type)!;

  it('should fail an event after its retry budget, fail the later event of its load with it, and redeliver both in order', async () => {
    const k = await apiKey(ctx.app, ['loads:write']);
    ctx.rx.set('/down', 'fail');
    const sub = await subscribe(ctx.app, k, `${ctx.rx.url}/down`);
    const load = await reviewThenPost(k, 'EKCDOWN001');
    await resolvePosted(load.id);
    const log = await waitFor('both events to fail', async () => {
      const l = await deliveryLog(ctx.app, k, sub.id);
      return l.length === 2 && l.every((d) => d.status === 'failed') && l;
    });
    const review = byType(log, 'card_load.needs_review');
    expect(review.attempts.length).toBeGreaterThanOrEqual(2);
    expect(review.lastHttpStatus).toBe(500);
    const posted = byType(log, 'card_load.posted');
    expect(posted.attempts).toEqual([]); // it never overtook the failed event
    expect(posted.lastError).toMatch(/earlier event/);

    ctx.rx.set('/down', 'ok');
    expect((await ctx.app.api('POST', `/v1/webhooks/${sub.id}/deliveries/${posted.id}/redeliver`, { key: k })).status).toBe(202);
    await waitFor('both to be delivered', async () => (await deliveryLog(ctx.app, k, sub.id)).every((d) => d.status === 'delivered'));
    expect(ctx.rx.accepted('/down').map((r) => JSON.parse(r.body).type)).toEqual(['card_load.needs_review', 'card_load.posted']);
  });

  it('should retry a failed event, first, when a later event of its load arrives', async () => {
    const k = await apiKey(ctx.app, ['loads:write']);
    ctx.rx.set('/late', 'fail');
    const sub = await subscribe(ctx.app, k, `${ctx.rx.url}/late`);
    const load = await reviewThenPost(k, 'EKCLATE001');
    await waitFor('needs_review to fail', async () => (await deliveryLog(ctx.app, k, sub.id))[0]?.status === 'failed');
    ctx.rx.set('/late', 'ok');
    await resolvePosted(load.id);
    await waitFor('both to be delivered', async () => {
      const l = await deliveryLog(ctx.app, k, sub.id);
      return l.length === 2 && l.every((d) => d.status === 'delivered');
    });
    expect(ctx.rx.accepted('/late').map((r) => JSON.parse(r.body).type)).toEqual(['card_load.needs_review', 'card_load.posted']);
  });

  it('should keep settling at normal speed while a receiver hangs', async () => {
    const k = await apiKey(ctx.app, ['loads:write']);
    ctx.rx.set('/hang', 'hang');
    const sub = await subscribe(ctx.app, k, `${ctx.rx.url}/hang`);
    const loads = await Promise.all(Array.from({ length: 20 }, () => loadWith(ctx.app, k, 'EKCHANG001', '1.00')));
    const settled = await Promise.all(loads.map((l) => waitForStatus(ctx.app, l.id, ['posted', 'needs_review'], 10_000)));
    for (const s of settled) {
      expect({ id: s.id, status: s.status, why: s.statusReason }).toEqual({ id: s.id, status: 'posted', why: s.statusReason });
      expect(Date.parse(s.postedAt) - Date.parse(s.createdAt)).toBeLessThan(2000);
    }
    // Meanwhile the receiver was called and never answered: the attempts end at the webhook timeout.
    const timedOut = await waitFor(
      'a timed-out attempt',
      async () => (await deliveryLog(ctx.app, k, sub.id)).flatMap((d) => d.attempts).find((a) => a.status === 'timeout'),
      15_000,
    );
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(3900);
    expect(timedOut.error).toMatch(/4000 ms/);
    expect(ctx.rx.received.filter((r) => r.path === '/hang').length).toBeGreaterThanOrEqual(1);
    expect((await ctx.app.api('DELETE', `/v1/webhooks/${sub.id}`, { key: k })).status).toBe(200);
  }, 60_000);
});
