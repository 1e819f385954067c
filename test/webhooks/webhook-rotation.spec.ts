import { signWebhook, verifyWebhookSignature } from '../../src/webhooks/webhook-signature';
import { waitFor } from '../sync/sync-harness';
import { apiKey, loadWith, subscribe, useWebhookApp, webhookEnv } from './harness';
import { Received } from './receiver';

webhookEnv({ WEBHOOK_TIMEOUT_MS: '2000' });

const signatureOf = (r: Received) => String(r.headers['card-ledger-signature']);
const timestampOf = (r: Received) => Number(/^t=(\d+),/.exec(signatureOf(r))![1]);

describe('webhook secret rotation', () => {
  const ctx = useWebhookApp();

  const rotate = (key: string | undefined, id: string, body?: unknown) =>
    ctx.app.api('POST', `/v1/webhooks/${id}/rotate-secret`, { key, body });
  const secretColumns = async (id: string) =>
    (
      await ctx.db.query(
        `SELECT secret_ciphertext, secret_key_id, previous_secret_ciphertext, previous_secret_key_id, previous_secret_expires_at
     FROM webhook_subscriptions WHERE id = $1`,
        [id],
      )
    ).rows[0];
  let cards = 0;
  /** Settles one load of `key` and answers the event its subscription at `path` received for it. */
  const nextDelivery = async (key: string, path: string): Promise<Received> => {
    const load = await loadWith(ctx.app, key, `EKCROT${String(++cards).padStart(4, '0')}`, '5.00');
    return waitFor(`the event of load ${load.id}`, async () => ctx.rx.accepted(path).find((r) => JSON.parse(r.body).data.id === load.id));
  };

  it('should answer a new secret once and sign with the new and the old one, new first, during the grace window', async () => {
    const alice = await apiKey(ctx.app, ['loads:write']);
    const sub = await subscribe(ctx.app, alice, `${ctx.rx.url}/alice`, ['card_load.posted']);
    const res = await rotate(alice, sub.id); // no body: the default day of grace
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: sub.id, url: `${ctx.rx.url}/alice`, events: ['card_load.posted'], deletedAt: null });
    const rotated: string = res.body.secret;
    expect(rotated).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(rotated).not.toBe(sub.secret);
    const { previous_secret_expires_at: expiresAt } = await secretColumns(sub.id);
    expect(Math.abs(expiresAt.getTime() - Date.now() - 86_400_000)).toBeLessThan(60_000);
    const read = await ctx.app.api('GET', `/v1/webhooks/${sub.id}`, { key: alice });
    expect(Object.keys(read.body).filter((k) => /secret/i.test(k))).toEqual([]);

    const got = await nextDelivery(alice, '/alice');
    expect(signatureOf(got)).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(signatureOf(got)).toBe(signWebhook([rotated, sub.secret], got.body, timestampOf(got)));
    expect(verifyWebhookSignature(got.body, signatureOf(got), rotated)).toBe(true);
    expect(verifyWebhookSignature(got.body, signatureOf(got), sub.secret)).toBe(true);
    expect(verifyWebhookSignature(got.body, signatureOf(got), 'whsec_other')).toBe(false);
  });

  it('should keep only the then-current secret on a second rotation, and sign with the new one alone once the old expires', async () => {
    const bob = await apiKey(ctx.app, ['loads:write']);
    const sub = await subscribe(ctx.app, bob, `${ctx.rx.url}/bob`, ['card_load.posted']);
    const second = (await rotate(bob, sub.id, { expiresInSeconds: 3600 })).body.secret as string;
    const third = (await rotate(bob, sub.id, { expiresInSeconds: 3600 })).body.secret as string;
    let got = await nextDelivery(bob, '/bob');
    expect(signatureOf(got)).toBe(signWebhook([third, second], got.body, timestampOf(got)));
    expect(verifyWebhookSignature(got.body, signatureOf(got), sub.secret)).toBe(false);

    const fourth = (await rotate(bob, sub.id, { expiresInSeconds: 1 })).body.secret as string;
    await waitFor(
      'the old secret to expire',
      async () =>
        (
          await ctx.db.query(`SELECT previous_secret_expires_at < clock_timestamp() AS expired FROM webhook_subscriptions WHERE id = $1`, [
            sub.id,
          ])
        ).rows[0].expired,
    );
    got = await nextDelivery(bob, '/bob');
    expect(signatureOf(got)).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(got.body, signatureOf(got), fourth)).toBe(true);
    expect(verifyWebhookSignature(got.body, signatureOf(got), third)).toBe(false);

    // 0 revokes the old secret at once and keeps nothing; an upper-case id still seals under the canonical one.
    const fifth = (await rotate(bob, sub.id.toUpperCase(), { expiresInSeconds: 0 })).body.secret as string;
    expect(await secretColumns(sub.id)).toMatchObject({
      previous_secret_ciphertext: null,
      previous_secret_key_id: null,
      previous_secret_expires_at: null,
    });
    got = await nextDelivery(bob, '/bob');
    expect(signatureOf(got)).toBe(signWebhook(fifth, got.body, timestampOf(got)));
  });

  it('should answer 404 to another key and change nothing; an admin may rotate any subscription', async () => {
    const [carol, dave] = [await apiKey(ctx.app, ['loads:write']), await apiKey(ctx.app, ['loads:write'])];
    const sub = await subscribe(ctx.app, carol, 'https://carol.example/hooks', ['card_load.posted']);
    const before = await secretColumns(sub.id);
    const theirs = await rotate(dave, sub.id, { expiresInSeconds: 60 });
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe('not_found');
    expect(await secretColumns(sub.id)).toEqual(before);
    expect((await rotate(dave, 'not-a-uuid')).status).toBe(404);

    expect((await rotate(undefined, sub.id)).status).toBe(200);
    expect((await secretColumns(sub.id)).previous_secret_ciphertext).toEqual(before.secret_ciphertext);
    expect((await ctx.app.api('DELETE', `/v1/webhooks/${sub.id}`, { key: carol })).status).toBe(200);
    expect((await rotate(carol, sub.id)).status).toBe(404);
  });

  it.each([
    [{ expiresInSeconds: -1 }, 'expiresInSeconds'],
    [{ expiresInSeconds: 604_801 }, 'expiresInSeconds'],
    [{ expiresInSeconds: 1.5 }, 'expiresInSeconds'],
    [{ expiresInSeconds: '3600' }, 'expiresInSeconds'],
    [{ expiresIn: 3600 }, 'expiresIn'],
  ])('should refuse %j with 400 naming %s, writing nothing', async (body, field) => {
    const sub = await subscribe(ctx.app, undefined, 'https://billing.example.com/hooks', ['card_load.posted']);
    const before = await secretColumns(sub.id);
    const res = await rotate(undefined, sub.id, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect([...new Set(res.body.error.details.map((d: { field: string }) => d.field))]).toEqual([field]);
    expect(await secretColumns(sub.id)).toEqual(before);
  });

  it('should store the old and the new secret only encrypted, and show neither again', async () => {
    const sub = await subscribe(ctx.app, undefined, 'https://erin.example/hooks', ['card_load.posted']);
    const { secret_ciphertext: sealedBefore } = await secretColumns(sub.id);
    const rotated: string = (await rotate(undefined, sub.id)).body.secret;
    const { rows } = await ctx.db.query(`SELECT s.*, s::text AS row_text FROM webhook_subscriptions s WHERE id = $1`, [sub.id]);
    const row = rows[0] as { secret_ciphertext: Buffer; previous_secret_ciphertext: Buffer; row_text: string };
    expect(row.previous_secret_ciphertext).toEqual(sealedBefore);
    const stored = JSON.stringify(rows) + row.secret_ciphertext.toString('latin1') + row.previous_secret_ciphertext.toString('latin1');
    const shown = JSON.stringify([
      (await ctx.app.api('GET', `/v1/webhooks/${sub.id}`)).body,
      (await ctx.app.api('GET', '/v1/webhooks?limit=500')).body,
    ]);
    for (const secret of [sub.secret, rotated]) {
      for (const text of [stored, shown]) {
        expect(text).not.toContain(secret.slice('whsec_'.length));
      }
      expect(row.row_text).not.toContain(Buffer.from(secret).toString('hex')); // bytea shows as hex in the row text
    }
  });

  it.each([['null'], ['[]'], ['1'], ['"x"'], ['true'], ['{"expiresInSeconds":-1}']])(
    'should refuse the body %s with 400 and keep the secret',
    async (rawBody) => {
      const sub = await subscribe(ctx.app, undefined, 'https://frank.example/hooks', ['card_load.posted']);
      const before = await secretColumns(sub.id);
      const headers = { 'content-type': 'application/json' };
      const res = await ctx.app.api('POST', `/v1/webhooks/${sub.id}/rotate-secret`, { rawBody, headers });
      expect([res.status, res.body.error.code]).toEqual([400, 'validation_failed']);
      expect(await secretColumns(sub.id)).toEqual(before);
      expect((await ctx.app.api('DELETE', `/v1/webhooks/${sub.id}`)).status).toBe(200);
    },
  );

  it('should rotate with an empty object as with no body', async () => {
    const sub = await subscribe(ctx.app, undefined, 'https://grace.example/hooks', ['card_load.posted']);
    const headers = { 'content-type': 'application/json' };
    const res = await ctx.app.api('POST', `/v1/webhooks/${sub.id}/rotate-secret`, { rawBody: '{}', headers });
    expect(res.status).toBe(200);
    const { previous_secret_expires_at: expiresAt } = await secretColumns(sub.id);
    expect(Math.abs(expiresAt.getTime() - Date.now() - 86_400_000)).toBeLessThan(60_000);
  });
});
