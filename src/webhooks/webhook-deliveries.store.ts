import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from '../database/transaction';
import { WebhookEvent } from './webhook-events';
import { AttemptResult } from './webhook-sender';
import { AttemptRow, DeliveryRow } from './webhook.view';

/** A claimed delivery with what it takes to send it; `attempts` counts the attempts before this one. */
export interface ClaimedDelivery {
  id: string;
  seq: string;
  subscriptionId: string;
  /** null for an event of no load (audit.checkpoint). */
  loadId: string | null;
  event: WebhookEvent;
  data: unknown;
  attempts: number;
  createdAt: Date;
  url: string;
  secretCiphertext: Buffer;
  secretKeyId: string;
  /** The secret a rotation replaced, while it has not expired (database time at the claim); it signs too. */
  previousSecret: { ciphertext: Buffer; keyId: string } | null;
  /** Monotonic time of the claim, to stop well before the lease runs out. */
  claimedAtMono: number;
}

/** A row claim() returns (bigint ids arrive as strings from pg). */
interface ClaimedRow {
  id: string;
  seq: string;
  subscription_id: string;
  load_id: string | null;
  event: WebhookEvent;
  data: unknown;
  attempts: number;
  created_at: Date;
  url: string;
  secret_ciphertext: Buffer;
  secret_key_id: string;
  previous_secret_ciphertext: Buffer | null;
  previous_secret_key_id: string | null;
}

/** The worker's side of webhook_deliveries: claim, finish, release. All times are the database's. */
@Injectable()
export class WebhookDeliveriesStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /**
   * Claims due deliveries whose lease is free or expired (SKIP LOCKED: instances never wait for each other).
   * A delivery is held while an earlier event of the same subscription and load is undelivered, so a
   * receiver sees the events of one load in order.
   */
  async claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const [rows]: [ClaimedRow[], number] = await this.ds.query(
      `WITH due AS (
         SELECT d.id FROM webhook_deliveries d
         WHERE d.status = 'pending' AND d.due_at <= clock_timestamp()
           AND (d.lease_expires_at IS NULL OR d.lease_expires_at < clock_timestamp())
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                           WHERE e.subscription_id = d.subscription_id AND e.load_id = d.load_id AND e.seq < d.seq
                             AND e.status <> 'delivered')
         ORDER BY d.due_at
         LIMIT $2
         FOR UPDATE OF d SKIP LOCKED)
       UPDATE webhook_deliveries d
       SET lease_owner = $1, lease_expires_at = clock_timestamp() + make_interval(secs => $3::float / 1000), updated_at = clock_timestamp()
       FROM due, webhook_subscriptions s
       WHERE d.id = due.id AND s.id = d.subscription_id
       RETURNING d.id, d.seq, d.subscription_id, d.load_id, d.event, d.data, d.attempts, d.created_at,
         s.url, s.secret_ciphertext, s.secret_key_id,
         CASE WHEN s.previous_secret_expires_at > clock_timestamp() THEN s.previous_secret_ciphertext END AS previous_secret_ciphertext,
         s.previous_secret_key_id`,
      [owner, limit, leaseMs],
    );
    const claimedAtMono = performance.now();
    return rows.map((r) => ({
      id: String(r.id),
      seq: String(r.seq),
      subscriptionId: String(r.subscription_id),
      loadId: r.load_id === null ? null : String(r.load_id),
      event: r.event,
      data: r.data,
      attempts: Number(r.attempts),
      createdAt: r.created_at,
      url: String(r.url),
      secretCiphertext: r.secret_ciphertext,
      secretKeyId: String(r.secret_key_id),
      previousSecret: r.previous_secret_ciphertext
        ? { ciphertext: r.previous_secret_ciphertext, keyId: String(r.previous_secret_key_id) }
        : null,
      claimedAtMono,
    }));
  }

  /**
   * Records the attempt and moves the delivery on, in one transaction: delivered on success; otherwise due
   * again after `retryDelayMs`, or failed once its budget (WEBHOOK_MAX_AGE_MS) is spent. A failed event also
   * fails the later events of the same load for this subscription: they may never overtake it.
   * Returns the new status, or null when our lease was lost (the attempt is still logged).
   */
  async finish(d: ClaimedDelivery, owner: string, a: AttemptResult, retryDelayMs: number, maxAgeMs: number): Promise<string | null> {
    return inTransaction(this.ds, async (m) => {
      // A failure may fail the load's later events; a settlement writing a new event for this load holds the row
      // FOR UPDATE. Taking turns on it means the new event is either failed with this one or revives it, never
      // left waiting behind a failed event.
      if (a.status !== 'succeeded') await m.query(`SELECT 1 FROM card_loads WHERE id = $1 FOR KEY SHARE`, [d.loadId]);
      await m.query(`INSERT INTO webhook_attempts (delivery_id, status, http_status, duration_ms, error) VALUES ($1, $2, $3, $4, $5)`, [
        d.id,
        a.status,
        a.httpStatus,
        a.durationMs,
        a.error?.slice(0, 1000) ?? null,
      ]);
      const [rows]: [Array<{ status: string }>, number] = await m.query(
        `WITH x AS (SELECT $3::boolean AS ok,
                      clock_timestamp() - budget_started_at >= make_interval(secs => $7::float / 1000) AS spent
                    FROM webhook_deliveries WHERE id = $1)
         UPDATE webhook_deliveries SET attempts = attempts + 1, last_http_status = $4, last_error = $5,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = clock_timestamp(),
           status = CASE WHEN x.ok THEN 'delivered' WHEN x.spent THEN 'failed' ELSE 'pending' END,
           delivered_at = CASE WHEN x.ok THEN clock_timestamp() END,
           failed_at = CASE WHEN NOT x.ok AND x.spent THEN clock_timestamp() END,
           due_at = CASE WHEN x.ok OR x.spent THEN due_at ELSE clock_timestamp() + make_interval(secs => $6::float / 1000) END
         FROM x WHERE id = $1 AND lease_owner = $2 AND status = 'pending'
         RETURNING status`,
        [d.id, owner, a.status === 'succeeded', a.httpStatus, a.error?.slice(0, 1000) ?? null, retryDelayMs, maxAgeMs],
      );
      const status = rows[0]?.status ?? null;
      if (status === 'failed' && d.loadId !== null) {
        await m.query(
          `UPDATE webhook_deliveries SET status = 'failed', failed_at = clock_timestamp(), updated_at = clock_timestamp(),
             last_error = $4
           WHERE subscription_id = $1 AND load_id = $2 AND seq > $3 AND status = 'pending'`,
          [d.subscriptionId, d.loadId, d.seq, `not sent: an earlier event of this load (${d.id}) failed`],
        );
      }
      return status;
    });
  }

  /** Gives the delivery back untouched (shutdown, lease running short). */
  async release(id: string, owner: string): Promise<void> {
    await this.ds.query(
      `UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL, updated_at = clock_timestamp()
       WHERE id = $1 AND lease_owner = $2`,
      [id, owner],
    );
  }

  /** A deleted subscription's undelivered events fail at once; returns how many. */
  async failPendingOf(m: EntityManager, subscriptionId: string): Promise<number> {
    const [, failed] = await m.query<[unknown[], number]>(
      `UPDATE webhook_deliveries SET status = 'failed', failed_at = clock_timestamp(), updated_at = clock_timestamp(),
         last_error = 'subscription deleted' WHERE subscription_id = $1 AND status = 'pending'`,
      [subscriptionId],
    );
    return Number(failed);
  }

  /** One subscription's deliveries before seq `before` (null: from the newest), newest first, plus one row. */
  async pageOfSubscription(subscriptionId: string, status: string | null, before: number | null, limit: number): Promise<DeliveryRow[]> {
    return this.ds.query(
      `SELECT * FROM webhook_deliveries WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2)
         AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4`,
      [subscriptionId, status, before, limit + 1],
    );
  }

  /**
   * Every delivery one load caused, to the live subscriptions of `owner` (null = all), newest first, plus one row: read
   * subscription by subscription on the (subscription_id, load_id, seq) index.
   */
  async pageOfLoad(
    loadId: string,
    owner: string | null,
    before: number | null,
    limit: number,
  ): Promise<Array<DeliveryRow & { subscription_id: string }>> {
    return this.ds.query(
      `SELECT d.* FROM webhook_subscriptions s JOIN webhook_deliveries d ON d.subscription_id = s.id AND d.load_id = $1
       WHERE s.deleted_at IS NULL AND ($2::uuid IS NULL OR s.api_key_id = $2) AND ($3::bigint IS NULL OR d.seq < $3)
       ORDER BY d.seq DESC LIMIT $4`,
      [loadId, owner, before, limit + 1],
    );
  }

  /**
   * Sends the delivery again with a fresh budget, with the earlier failed events of its load first; false when the
   * subscription has no such delivery. The delivery's row is locked first.
   */
  async redeliver(m: EntityManager, subscriptionId: string, deliveryId: string): Promise<boolean> {
    const [d]: Array<{ seq: string; load_id: string | null }> = await m.query(
      `SELECT seq, load_id FROM webhook_deliveries WHERE id = $1 AND subscription_id = $2 FOR UPDATE`,
      [deliveryId, subscriptionId],
    );
    if (!d) return false;
    await m.query(
      `UPDATE webhook_deliveries SET status = 'pending', due_at = clock_timestamp(), budget_started_at = clock_timestamp(),
         delivered_at = NULL, failed_at = NULL, updated_at = clock_timestamp()
       WHERE subscription_id = $1 AND (id = $3 OR (load_id = $2 AND seq < $4 AND status = 'failed'))`,
      [subscriptionId, d.load_id, deliveryId, d.seq],
    );
    return true;
  }

  async find(deliveryId: string): Promise<DeliveryRow> {
    const [row]: DeliveryRow[] = await this.ds.query(`SELECT * FROM webhook_deliveries WHERE id = $1`, [deliveryId]);
    return row;
  }

  async attemptsOf(deliveryIds: string[]): Promise<AttemptRow[]> {
    return deliveryIds.length === 0
      ? []
      : this.ds.query(`SELECT * FROM webhook_attempts WHERE delivery_id = ANY ($1::uuid[]) ORDER BY id`, [deliveryIds]);
  }

  /**
   * The outbox (webhook-outbox.ts): which active subscriptions of unrevoked keys hear these (load, event) pairs, in
   * the settlement's transaction. A subscription sees the loads its own key created; an admin key's subscription sees
   * all. FOR SHARE: a concurrent DELETE waits for this commit and then fails these rows too, or commits first and this
   * query no longer matches it. The statement is webhook_subscriptions_hearing (migration 1765470000000).
   */
  async matchSubscriptions(
    m: EntityManager,
    items: ReadonlyArray<{ loadId: string; event: WebhookEvent }>,
  ): Promise<Array<{ load_id: string; event: WebhookEvent; subscription_id: string }>> {
    return m.query(`SELECT * FROM webhook_subscriptions_hearing($1::uuid[], $2::text[])`, [
      items.map((i) => i.loadId),
      items.map((i) => i.event),
    ]);
  }

  /**
   * Writes the outbox's deliveries, in order. The new event waits behind any earlier event of its load; one that had
   * failed for good is retried with it (a fresh budget), so the receiver still gets the load's events in order once
   * it is back.
   */
  async enqueue(
    m: EntityManager,
    rows: Array<{ subscriptionId: string; loadId: string; event: WebhookEvent; data: string | undefined }>,
  ): Promise<void> {
    await m.query(
      `WITH revived AS (
         UPDATE webhook_deliveries d SET status = 'pending', due_at = clock_timestamp(), budget_started_at = clock_timestamp(),
           failed_at = NULL, updated_at = clock_timestamp()
         FROM unnest($1::uuid[], $2::uuid[]) AS x(s, l)
         WHERE d.subscription_id = x.s AND d.load_id = x.l AND d.status = 'failed')
       INSERT INTO webhook_deliveries (subscription_id, load_id, event, data)
       SELECT s, l, e, d FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::json[]) WITH ORDINALITY AS x(s, l, e, d, ord) ORDER BY ord`,
      [rows.map((r) => r.subscriptionId), rows.map((r) => r.loadId), rows.map((r) => r.event), rows.map((r) => r.data)],
    );
  }

  /** One `audit.checkpoint` delivery per active subscription of an unrevoked key that asked for it; returns how many. */
  async enqueueCheckpoint(m: EntityManager, checkpoint: { document: string; signature: string }): Promise<number> {
    const rows: unknown[] = await m.query(
      `INSERT INTO webhook_deliveries (subscription_id, load_id, event, data)
       SELECT s.id, NULL, 'audit.checkpoint', $1::json FROM webhook_subscriptions s
       JOIN api_keys k ON k.id = s.api_key_id AND k.revoked_at IS NULL
       WHERE s.deleted_at IS NULL AND 'audit.checkpoint' = ANY (s.events)
       ORDER BY s.id
       RETURNING id`,
      [JSON.stringify(checkpoint)],
    );
    return rows.length;
  }
}
