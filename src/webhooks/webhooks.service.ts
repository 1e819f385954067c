import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { actorOfCaller } from '../audit-trail/audit-trail';
import { AuditTrail } from '../audit-trail/audit-trail.service';
import { Caller } from '../auth/scopes';
import { ApiError, badField, notFound } from '../common/errors';
import { checkCursorInstant, checkCursorPart, cursorInstantSql, decodeCursor, encodeCursor, parseLimit, UUID } from '../common/paging';
import { inTransaction } from '../database/transaction';
import {
  CreateWebhookDto, ListDeliveriesQuery, ListLoadDeliveriesQuery, ListWebhooksQuery, ROTATION_EXPIRY_DEFAULT_SECONDS,
  RotateWebhookSecretDto,
} from './webhook.dto';
import { AttemptRow, DeliveryRow, deliveryView, SubscriptionRow, subscriptionView } from './webhook.view';
import { WebhookSecretBox } from './webhook-secret-box';
import { WEBHOOK_CONFIG, WebhookConfig } from './webhook-config';
import { checkWebhookUrl } from './webhook-target-guard';

/** Bounds the fan-out every settlement transaction pays for one key's subscriptions. */
export const MAX_SUBSCRIPTIONS_PER_KEY = 25;

/** null = admin: every subscription is visible; otherwise only the caller key's own. */
const ownerOf = (caller: Caller): string | null => (caller.scopes.includes('admin') ? null : caller.apiKeyId);

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * Subscriptions and their delivery logs. Someone else's subscription answers 404, not 403: its existence
 * is not the caller's business.
 */
@Injectable()
export class WebhooksService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly box: WebhookSecretBox,
    @Inject(WEBHOOK_CONFIG) private readonly config: WebhookConfig,
    private readonly trail: AuditTrail,
  ) {}

  /** The secret is in this reply and nowhere else, ever (only its ciphertext is stored). */
  async create(caller: Caller, dto: CreateWebhookDto, requestId: string) {
    // Refuse a private target now, while the caller is there to read why; delivery checks every connection again.
    const problem = this.config.allowPrivateUrls ? null : await checkWebhookUrl(dto.url, this.config.timeoutMs);
    if (problem) throw badField('url', problem);
    const id = randomUUID();
    const secret = newSecret();
    const sealed = this.box.seal(id, secret);
    const row = await inTransaction(this.ds, async (m) => {
      // Serialises creations per key so the cap holds under concurrency (NO KEY UPDATE: intake's FK checks go on).
      await m.query(`SELECT 1 FROM api_keys WHERE id = $1 FOR NO KEY UPDATE`, [caller.apiKeyId]);
      const [{ n }]: Array<{ n: number }> = await m.query(
        `SELECT count(*)::int AS n FROM webhook_subscriptions WHERE api_key_id = $1 AND deleted_at IS NULL`, [caller.apiKeyId]);
      if (n >= MAX_SUBSCRIPTIONS_PER_KEY) {
        throw new ApiError(409, 'conflict', `an API key may hold at most ${MAX_SUBSCRIPTIONS_PER_KEY} webhook subscriptions; delete one first`);
      }
      const rows: SubscriptionRow[] = await m.query(
        `INSERT INTO webhook_subscriptions (id, api_key_id, url, events, all_loads, secret_ciphertext, secret_key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [id, caller.apiKeyId, dto.url, dto.events, caller.scopes.includes('admin'), sealed.ciphertext, sealed.keyId]);
      await this.trail.record(m, { ...actorOfCaller(caller, requestId), action: 'webhook.subscribed', subject: id,
        details: { url: rows[0].url, events: rows[0].events, allLoads: rows[0].all_loads } });
      return rows[0];
    });
    return { ...subscriptionView(row), secret };
  }

  /** Oldest first, keyset on (created_at, id). */
  async list(caller: Caller, q: ListWebhooksQuery) {
    const limit = parseLimit(q.limit);
    const cursor = decodeCursor(q.cursor, ['string', 'string']) as [string, string] | null;
    if (cursor) {
      checkCursorInstant(cursor[0]);
      checkCursorPart(UUID.test(cursor[1]));
    }
    const rows: SubscriptionRow[] = await this.ds.query(
      `SELECT *, ${cursorInstantSql('created_at')} AS created_at_cursor FROM webhook_subscriptions
       WHERE deleted_at IS NULL AND ($1::uuid IS NULL OR api_key_id = $1)
         AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
       ORDER BY created_at, id LIMIT $4`,
      [ownerOf(caller), cursor?.[0] ?? null, cursor?.[1] ?? null, limit + 1]);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(subscriptionView), nextCursor: rows.length > limit && last ? encodeCursor([last.created_at_cursor!, last.id]) : null };
  }

  async get(caller: Caller, id: string) {
    return subscriptionView(await this.visible(this.ds.manager, caller, id));
  }

  /** Stops the subscription at once: its undelivered events are failed, so nothing more is sent to it. */
  async remove(caller: Caller, id: string, requestId: string) {
    return inTransaction(this.ds, async (m) => {
      await this.visible(m, caller, id, true);
      const [rows]: [SubscriptionRow[], number] = await m.query(
        `UPDATE webhook_subscriptions SET deleted_at = clock_timestamp() WHERE id = $1 RETURNING *`, [id]);
      const [, failed] = await m.query<[unknown[], number]>(
        `UPDATE webhook_deliveries SET status = 'failed', failed_at = clock_timestamp(), updated_at = clock_timestamp(),
           last_error = 'subscription deleted' WHERE subscription_id = $1 AND status = 'pending'`, [id]);
      await this.trail.record(m, { ...actorOfCaller(caller, requestId), action: 'webhook.deleted', subject: rows[0].id,
        details: { url: rows[0].url, events: rows[0].events, undeliveredEventsDropped: Number(failed) } });
      return subscriptionView(rows[0]);
    });
  }

  /**
   * A new secret, in this reply only. The current one becomes the previous secret and keeps signing beside it
   * for `expiresInSeconds` (0: dropped at once); a previous secret still pending is forgotten. One statement:
   * concurrent rotations queue on the row lock, and each moves the secret the one before it wrote; the audit event
   * goes in the same transaction.
   */
  async rotateSecret(caller: Caller, id: string, dto: RotateWebhookSecretDto | undefined, requestId: string) {
    if (!UUID.test(id)) throw notFound(`webhook subscription ${id}`);
    // The AAD must be the id as the worker reads it back from the database: canonical lower case.
    const canonicalId = id.toLowerCase();
    const secret = newSecret();
    const sealed = this.box.seal(canonicalId, secret);
    const expiresInSeconds = dto?.expiresInSeconds ?? ROTATION_EXPIRY_DEFAULT_SECONDS;
    const rows = await inTransaction(this.ds, async (m) => {
      const [updated]: [SubscriptionRow[], number] = await m.query(
        `UPDATE webhook_subscriptions SET secret_ciphertext = $3, secret_key_id = $4,
           previous_secret_ciphertext = CASE WHEN $5::int > 0 THEN secret_ciphertext END,
           previous_secret_key_id = CASE WHEN $5::int > 0 THEN secret_key_id END,
           previous_secret_expires_at = CASE WHEN $5::int > 0 THEN clock_timestamp() + make_interval(secs => $5::int) END
         WHERE id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR api_key_id = $2)
         RETURNING *`,
        [canonicalId, ownerOf(caller), sealed.ciphertext, sealed.keyId, expiresInSeconds]);
      if (updated.length === 0) throw notFound(`webhook subscription ${id}`);
      await this.trail.record(m, { ...actorOfCaller(caller, requestId), action: 'webhook.secret_rotated', subject: canonicalId,
        details: { url: updated[0].url, previousSecretValidSeconds: expiresInSeconds } });
      return updated;
    });
    return { ...subscriptionView(rows[0]), secret };
  }

  /** The delivery log, newest first, each delivery with every attempt. */
  async deliveries(caller: Caller, id: string, q: ListDeliveriesQuery) {
    const limit = parseLimit(q.limit);
    const cursor = decodeCursor(q.cursor, ['integer']);
    await this.visible(this.ds.manager, caller, id);
    const rows: DeliveryRow[] = await this.ds.query(
      `SELECT * FROM webhook_deliveries WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2)
         AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4`,
      [id, q.status ?? null, cursor?.[0] ?? null, limit + 1]);
    const page = rows.slice(0, limit);
    const attempts = await this.attemptsOf(page.map((d) => d.id));
    const last = page[page.length - 1];
    return {
      data: page.map((d) => deliveryView(d, attempts.get(d.id) ?? [])),
      nextCursor: rows.length > limit && last ? encodeCursor([Number(last.seq)]) : null,
    };
  }

  /**
   * Every delivery one load caused, to the subscriptions the caller may see, newest first. Read subscription by
   * subscription on the (subscription_id, load_id, seq) index: subscriptions are few, deliveries many.
   */
  async loadDeliveries(caller: Caller, q: ListLoadDeliveriesQuery) {
    if (!UUID.test(q.loadId)) throw badField('loadId', 'must be a card load id (a UUID)');
    const limit = parseLimit(q.limit);
    const cursor = decodeCursor(q.cursor, ['integer']);
    const rows: Array<DeliveryRow & { subscription_id: string }> = await this.ds.query(
      `SELECT d.* FROM webhook_subscriptions s JOIN webhook_deliveries d ON d.subscription_id = s.id AND d.load_id = $1
       WHERE s.deleted_at IS NULL AND ($2::uuid IS NULL OR s.api_key_id = $2) AND ($3::bigint IS NULL OR d.seq < $3)
       ORDER BY d.seq DESC LIMIT $4`,
      [q.loadId, ownerOf(caller), cursor?.[0] ?? null, limit + 1]);
    const page = rows.slice(0, limit);
    const attempts = await this.attemptsOf(page.map((d) => d.id));
    const last = page[page.length - 1];
    return {
      data: page.map((d) => ({ ...deliveryView(d, attempts.get(d.id) ?? []), subscriptionId: d.subscription_id })),
      nextCursor: rows.length > limit && last ? encodeCursor([Number(last.seq)]) : null,
    };
  }

  /**
   * Sends the event again (same id, same body, a fresh retry budget). Earlier events of the same load that
   * failed go first, with it, so that a receiver still sees the load's events in order.
   */
  async redeliver(caller: Caller, id: string, deliveryId: string) {
    if (!UUID.test(deliveryId)) throw notFound(`webhook delivery ${deliveryId}`);
    await inTransaction(this.ds, async (m) => {
      await this.visible(m, caller, id);
      const [d]: Array<{ seq: string; load_id: string | null }> = await m.query(
        `SELECT seq, load_id FROM webhook_deliveries WHERE id = $1 AND subscription_id = $2 FOR UPDATE`, [deliveryId, id]);
      if (!d) throw notFound(`webhook delivery ${deliveryId}`);
      await m.query(
        `UPDATE webhook_deliveries SET status = 'pending', due_at = clock_timestamp(), budget_started_at = clock_timestamp(),
           delivered_at = NULL, failed_at = NULL, updated_at = clock_timestamp()
         WHERE subscription_id = $1 AND (id = $3 OR (load_id = $2 AND seq < $4 AND status = 'failed'))`,
        [id, d.load_id, deliveryId, d.seq]);
    });
    const [row]: DeliveryRow[] = await this.ds.query(`SELECT * FROM webhook_deliveries WHERE id = $1`, [deliveryId]);
    return deliveryView(row, (await this.attemptsOf([deliveryId])).get(deliveryId) ?? []);
  }

  private async visible(m: EntityManager, caller: Caller, id: string, lock = false): Promise<SubscriptionRow> {
    if (!UUID.test(id)) throw notFound(`webhook subscription ${id}`);
    const rows: SubscriptionRow[] = await m.query(
      `SELECT * FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR api_key_id = $2)
       ${lock ? 'FOR NO KEY UPDATE' : ''}`, [id, ownerOf(caller)]);
    if (rows.length === 0) throw notFound(`webhook subscription ${id}`);
    return rows[0];
  }

  private async attemptsOf(deliveryIds: string[]): Promise<Map<string, AttemptRow[]>> {
    const rows: AttemptRow[] = deliveryIds.length === 0 ? []
      : await this.ds.query(`SELECT * FROM webhook_attempts WHERE delivery_id = ANY ($1::uuid[]) ORDER BY id`, [deliveryIds]);
    const by = new Map<string, AttemptRow[]>();
    for (const a of rows) {
      const list = by.get(a.delivery_id);
      if (list) list.push(a);
      else by.set(a.delivery_id, [a]);
    }
    return by;
  }
}
