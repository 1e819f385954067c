import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { cursorInstantSql } from '../common/paging';
import { SubscriptionRow } from './webhook.view';

/** webhook_subscriptions: who hears which events, with which key (docs/webhooks.md). Deliveries: WebhookDeliveriesStore. */
@Injectable()
export class WebhookSubscriptionsStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** The live subscriptions made with this key, oldest first. */
  async liveOfKey(m: EntityManager, apiKeyId: string): Promise<Array<{ id: string; url: string }>> {
    return m.query(`SELECT id, url FROM webhook_subscriptions WHERE api_key_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`, [
      apiKeyId,
    ]);
  }

  /** Moves every live subscription of a revoked key named `keyName` to the key `toKeyId`; returns those moved. */
  async moveFromRevokedKeys(m: EntityManager, toKeyId: string, keyName: string): Promise<Array<{ id: string; url: string }>> {
    const [moved]: [Array<{ id: string; url: string }>, number] = await m.query(
      `UPDATE webhook_subscriptions s SET api_key_id = $1 FROM api_keys k
       WHERE k.id = s.api_key_id AND k.name = $2 AND k.revoked_at IS NOT NULL AND s.deleted_at IS NULL RETURNING s.id, s.url`,
      [toKeyId, keyName],
    );
    return moved;
  }

  async countLiveOfKey(m: EntityManager, apiKeyId: string): Promise<number> {
    const [{ n }]: Array<{ n: number }> = await m.query(
      `SELECT count(*)::int AS n FROM webhook_subscriptions WHERE api_key_id = $1 AND deleted_at IS NULL`,
      [apiKeyId],
    );
    return n;
  }

  async insert(
    m: EntityManager,
    s: { id: string; apiKeyId: string; url: string; events: string[]; allLoads: boolean; ciphertext: Buffer; keyId: string },
  ): Promise<SubscriptionRow> {
    const rows: SubscriptionRow[] = await m.query(
      `INSERT INTO webhook_subscriptions (id, api_key_id, url, events, all_loads, secret_ciphertext, secret_key_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [s.id, s.apiKeyId, s.url, s.events, s.allLoads, s.ciphertext, s.keyId],
    );
    return rows[0];
  }

  /** Live subscriptions of `owner` (null = all) after the cursor, oldest first, plus one row to tell whether there is more. */
  async page(owner: string | null, cursor: [string, string] | null, limit: number): Promise<SubscriptionRow[]> {
    return this.ds.query(
      `SELECT *, ${cursorInstantSql('created_at')} AS created_at_cursor FROM webhook_subscriptions
       WHERE deleted_at IS NULL AND ($1::uuid IS NULL OR api_key_id = $1)
         AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
       ORDER BY created_at, id LIMIT $4`,
      [owner, cursor?.[0] ?? null, cursor?.[1] ?? null, limit + 1],
    );
  }

  /** The live subscription if `owner` (null = anyone) made it; `lock` holds it (NO KEY UPDATE) until the transaction ends. */
  async findVisible(m: EntityManager, id: string, owner: string | null, lock: boolean): Promise<SubscriptionRow | null> {
    const rows: SubscriptionRow[] = await m.query(
      `SELECT * FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR api_key_id = $2)
       ${lock ? 'FOR NO KEY UPDATE' : ''}`,
      [id, owner],
    );
    return rows[0] ?? null;
  }

  async markDeleted(m: EntityManager, id: string): Promise<SubscriptionRow> {
    const [rows]: [SubscriptionRow[], number] = await m.query(
      `UPDATE webhook_subscriptions SET deleted_at = clock_timestamp() WHERE id = $1 RETURNING *`,
      [id],
    );
    return rows[0];
  }

  /**
   * A new secret; the current one becomes the previous secret for `expiresInSeconds` (0: dropped at once). One statement:
   * concurrent rotations queue on the row lock. Empty when the live subscription is not `owner`'s (null = anyone's).
   */
  async rotateSecret(
    m: EntityManager,
    id: string,
    owner: string | null,
    sealed: { ciphertext: Buffer; keyId: string },
    expiresInSeconds: number,
  ): Promise<SubscriptionRow[]> {
    const [updated]: [SubscriptionRow[], number] = await m.query(
      `UPDATE webhook_subscriptions SET secret_ciphertext = $3, secret_key_id = $4,
         previous_secret_ciphertext = CASE WHEN $5::int > 0 THEN secret_ciphertext END,
         previous_secret_key_id = CASE WHEN $5::int > 0 THEN secret_key_id END,
         previous_secret_expires_at = CASE WHEN $5::int > 0 THEN clock_timestamp() + make_interval(secs => $5::int) END
       WHERE id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR api_key_id = $2)
       RETURNING *`,
      [id, owner, sealed.ciphertext, sealed.keyId, expiresInSeconds],
    );
    return updated;
  }
}
