import { Client } from 'pg';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { verifyWebhookSignature } from '../../src/webhooks/webhook-signature';
import { sql } from '../support/db';
import { TestApp } from '../support/app';
import { startSim, startSyncApp, waitFor, waitForStatus } from '../sync/sync-harness';
import { apiKey, deliveryLog, loadWith, subscribe, webhookEnv } from './harness';
import { Receiver, Received, startReceiver } from './receiver';

webhookEnv({ WEBHOOK_TIMEOUT_MS: '2000' });

const bodyOf = (r: Received) => JSON.parse(r.body) as { id: string; type: string; createdAt: string; data: { id: string; status: string } };

describe('webhook delivery (app + EnKash simulator + a receiver over real HTTP)', () => {
  let sim: RunningSimulator;
  let t: TestApp;
  let rx: Receiver;
  let c: Client;
  beforeAll(async () => {
    sim = await startSim();
    // One attempt budget: a load whose send fails goes to needs_review at once (an event to deliver).
    t = await startSyncApp(sim, { SYNC_MAX_ATTEMPTS: '1' });
    rx = await startReceiver();
    c = await sql(t.databaseUrl);
  });
  afterAll(async () => {
    await c.end();
    await t.close();
    await rx.close();
    await sim.close();
  });

  it('should POST the load document, signed so that the helper verifies it, only to subscriptions that may see the load', async () => {
    const [alice, bob] = [await apiKey(t, ['loads:write']), await apiKey(t, ['loads:write'])];
    const mine = await subscribe(t, alice, `${rx.url}/alice`);
    const admin = await subscribe(t, undefined, `${rx.url}/admin`, ['card_load.posted']);
    const a = await loadWith(t, alice, 'EKCWHK0001', '15.00');
    const b = await loadWith(t, bob, 'EKCWHK0002', '16.00');
    await waitFor('the admin subscription to hear both loads', async () => rx.accepted('/admin').length >= 2);
    const [got] = await waitFor('alice to hear her load', async () => rx.accepted('/alice').length >= 1 && rx.accepted('/alice'));

    const body = bodyOf(got);
    expect(body).toMatchObject({ type: 'card_load.posted', data: { id: a.id, status: 'posted' } });
    expect(body.data).toEqual((await t.api('GET', `/v1/card-loads/${a.id}`, { key: alice })).body);
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
    const queued = await c.query(`SELECT load_id FROM webhook_deliveries WHERE subscription_id = $1`, [mine.id]);
    expect(queued.rows).toEqual([{ load_id: a.id }]);
    expect(rx.accepted('/admin').map((r) => bodyOf(r).data.id).sort()).toEqual([a.id, b.id].sort());
    expect((await t.api('DELETE', `/v1/webhooks/${admin.id}`)).status).toBe(200);
  });

  it('should deliver every event exactly once, in order per load, to a receiver that fails and then recovers', async () => {
    const carol = await apiKey(t, ['loads:write']);
    rx.set('/carol', 'fail');
    const sub = await subscribe(t, carol, `${rx.url}/carol`);
    const posted = await loadWith(t, carol, 'EKCWHK0003', '1.00');
    await waitForStatus(t, posted.id, ['posted']);
    const review = await loadWith(t, carol, 'EKCWHK0004', '2.00');
    sim.state.injectFault({ fault: 'http-503', reference: review.reference, count: 5 });
    await waitForStatus(t, review.id, ['needs_review']);
    const resolved = await t.api('POST', `/v1/card-loads/${review.id}/resolve`, { body: { outcome: 'posted', reason: 'confirmed by EnKash' } });
    expect(resolved.status).toBe(200);
    sim.state.setConfig({ parentBalanceMinor: 100n });
    let reversed: { id: string };
    try {
      reversed = await loadWith(t, carol, 'EKCWHK0005', '3.00');
      await waitForStatus(t, reversed.id, ['reversed']);
    } finally {
      sim.state.setConfig({ parentBalanceMinor: 10_000_000_000n });
    }

    // While the receiver fails, the review load's "posted" waits behind its "needs_review", never attempted.
    const attemptsOf = async (loadId: string, type: string) => (await deliveryLog(t, carol, sub.id))
      .find((d) => d.loadId === loadId && d.type === type)?.attempts.length ?? -1;
    await waitFor('needs_review to be retried', async () => (await attemptsOf(review.id, 'card_load.needs_review')) >= 3);
    expect(await attemptsOf(review.id, 'card_load.posted')).toBe(0);
    rx.set('/carol', 'ok');

    const log = await waitFor('every delivery to succeed', async () => {
      const l = await deliveryLog(t, carol, sub.id);
      return l.length === 4 && l.every((d) => d.status === 'delivered') && l;
    });
    const accepted = rx.accepted('/carol').map(bodyOf);
    expect(accepted.map((e) => e.id).sort()).toEqual(log.map((d) => d.id).sort()); // each event acknowledged once
    const typesOf = (loadId: string) => accepted.filter((e) => e.data.id === loadId).map((e) => `${e.type}:${e.data.status}`);
    expect(typesOf(posted.id)).toEqual(['card_load.posted:posted']);
    expect(typesOf(review.id)).toEqual(['card_load.needs_review:needs_review', 'card_load.posted:posted']);
    expect(typesOf(reversed!.id)).toEqual(['card_load.reversed:reversed']);
    for (const r of rx.received.filter((x) => x.path === '/carol')) {
      expect(verifyWebhookSignature(r.body, String(r.headers['card-ledger-signature']), sub.secret)).toBe(true);
    }
    // The log keeps every attempt: the refusals, then the success.
    const first = log.find((d) => d.loadId === review.id && d.type === 'card_load.needs_review')!;
    const failures = first.attempts.slice(0, -1);
    expect(failures.length).toBeGreaterThanOrEqual(3);
    for (const a of failures) expect(a).toMatchObject({ status: 'http_error', httpStatus: 500, error: expect.stringContaining('receiver is down') });
    expect(first.attempts[first.attempts.length - 1]).toMatchObject({ status: 'succeeded', httpStatus: 204, error: null });
    expect(first.attempts.every((a) => Number.isInteger(a.durationMs) && a.durationMs >= 0)).toBe(true);
  });

  it('should redeliver an event on request, with the same id, for its owner only', async () => {
    const dave = await apiKey(t, ['loads:write']);
    const sub = await subscribe(t, dave, `${rx.url}/dave`, ['card_load.posted']);
    const load = await loadWith(t, dave, 'EKCWHK0006', '4.00');
    const [delivery] = await waitFor('the first delivery', async () => {
      const l = await deliveryLog(t, dave, sub.id);
      return l.length === 1 && l[0].status === 'delivered' && l;
    });
    expect(delivery.loadId).toBe(load.id);
    const other = await apiKey(t, ['loads:write']);
    const path = `/v1/webhooks/${sub.id}/deliveries/${delivery.id}/redeliver`;
    expect((await t.api('POST', path, { key: other })).status).toBe(404);
    const again = await t.api('POST', path, { key: dave });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: delivery.id, status: 'pending' });
    await waitFor('the second copy', async () => rx.accepted('/dave').length >= 2);
    const [one, two] = rx.accepted('/dave');
    expect(two.headers['card-ledger-event-id']).toBe(one.headers['card-ledger-event-id']);
    expect(bodyOf(two)).toEqual(bodyOf(one));
    const log = await waitFor('the log to show both', async () => {
      const [d] = await deliveryLog(t, dave, sub.id);
      return d.status === 'delivered' && d.attempts.length === 2 && d;
    });
    expect(log.attempts.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
    expect((await t.api('POST', `/v1/webhooks/${sub.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`, { key: dave })).status).toBe(404);
  });
});
