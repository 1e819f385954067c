import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { actorOfCaller } from '../audit-trail/audit-trail';
import { AuditTrail } from '../audit-trail/audit-trail.service';
import { Caller } from '../auth/scopes';
import { ApiError, badField, notFound } from '../common/errors';
import { checkCursorInstant, checkCursorPart, decodeCursor, encodeCursor, parseLimit, UUID } from '../common/paging';
import { inTransaction } from '../database/transaction';
import {
  CreateWebhookDto,
  ListDeliveriesQuery,
  ListLoadDeliveriesQuery,
  ListWebhooksQuery,
  ROTATION_EXPIRY_DEFAULT_SECONDS,
  RotateWebhookSecretDto,
} from './webhook.dto';
import { AttemptRow, deliveryView, SubscriptionRow, subscriptionView } from './webhook.view';
import { WebhookSecretBox } from './webhook-secret-box';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookSubscriptionsStore } from './webhook-subscriptions.store';
import { ApiKeysStore } from '../auth/api-keys.store';
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
    private readonly subscriptions: WebhookSubscriptionsStore,
    private readonly deliveryStore: WebhookDeliveriesStore,
    private readonly keys: ApiKeysStore,
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
      await this.keys.holdForSubscriptions(m, caller.apiKeyId);
      const n = await this.subscriptions.countLiveOfKey(m, caller.apiKeyId);
      if (n >= MAX_SUBSCRIPTIONS_PER_KEY) {
        throw new ApiError('conflict', `an API key may hold at most ${MAX_SUBSCRIPTIONS_PER_KEY} webhook subscriptions; delete one first`);
      }
      const created = await this.subscriptions.insert(m, {
        id,
        apiKeyId: caller.apiKeyId,
        url: dto.url,
        events: dto.events,
        allLoads: caller.scopes.includes('admin'),
        ciphertext: sealed.ciphertext,
        keyId: sealed.keyId,
      });
      await this.trail.record(m, {
        ...actorOfCaller(caller, requestId),
        action: 'webhook.subscribed',
        subject: id,
        details: { url: created.url, events: created.events, allLoads: created.all_loads },
      });
      return created;
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
    const rows = await this.subscriptions.page(ownerOf(caller), cursor, limit);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(subscriptionView),
      nextCursor: rows.length > limit && last ? encodeCursor([last.created_at_cursor!, last.id]) : null,
    };
  }

  async get(caller: Caller, id: string) {
    return subscriptionView(await this.visible(this.ds.manager, caller, id));
  }

  /** Stops the subscription at once: its undelivered events are failed, so nothing more is sent to it. */
  async remove(caller: Caller, id: string, requestId: string) {
    return inTransaction(this.ds, async (m) => {
      await this.visible(m, caller, id, true);
      const deleted = await this.subscriptions.markDeleted(m, id);
      const failed = await this.deliveryStore.failPendingOf(m, id);
      await this.trail.record(m, {
        ...actorOfCaller(caller, requestId),
        action: 'webhook.deleted',
        subject: deleted.id,
        details: { url: deleted.url, events: deleted.events, undeliveredEventsDropped: failed },
      });
      return subscriptionView(deleted);
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
      const updated = await this.subscriptions.rotateSecret(m, canonicalId, ownerOf(caller), sealed, expiresInSeconds);
      if (updated.length === 0) throw notFound(`webhook subscription ${id}`);
      await this.trail.record(m, {
        ...actorOfCaller(caller, requestId),
        action: 'webhook.secret_rotated',
        subject: canonicalId,
        details: { url: updated[0].url, previousSecretValidSeconds: expiresInSeconds },
      });
      return updated;
    });
    return { ...subscriptionView(rows[0]), secret };
  }

  /** The delivery log, newest first, each delivery with every attempt. */
  async deliveries(caller: Caller, id: string, q: ListDeliveriesQuery) {
    const limit = parseLimit(q.limit);
    const cursor = decodeCursor(q.cursor, ['integer']);
    await this.visible(this.ds.manager, caller, id);
    const rows = await this.deliveryStore.pageOfSubscription(id, q.status ?? null, cursor ? Number(cursor[0]) : null, limit);
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
    const rows = await this.deliveryStore.pageOfLoad(q.loadId, ownerOf(caller), cursor ? Number(cursor[0]) : null, limit);
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
      if (!(await this.deliveryStore.redeliver(m, id, deliveryId))) throw notFound(`webhook delivery ${deliveryId}`);
    });
    const row = await this.deliveryStore.find(deliveryId);
    return deliveryView(row, (await this.attemptsOf([deliveryId])).get(deliveryId) ?? []);
  }

  private async visible(m: EntityManager, caller: Caller, id: string, lock = false): Promise<SubscriptionRow> {
    if (!UUID.test(id)) throw notFound(`webhook subscription ${id}`);
    const row = await this.subscriptions.findVisible(m, id, ownerOf(caller), lock);
    if (row === null) throw notFound(`webhook subscription ${id}`);
    return row;
  }

  private async attemptsOf(deliveryIds: string[]): Promise<Map<string, AttemptRow[]>> {
    const rows = await this.deliveryStore.attemptsOf(deliveryIds);
    const by = new Map<string, AttemptRow[]>();
    for (const a of rows) {
      const list = by.get(a.delivery_id);
      if (list) list.push(a);
      else by.set(a.delivery_id, [a]);
    }
    return by;
  }
}
