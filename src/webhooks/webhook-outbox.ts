import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { CardLoadRow, cardLoadView, LoadEventRow, loadEventView } from '../card-loads/card-load.view';
import { WebhookEvent } from './webhook-events';

export interface WebhookEnqueueItem {
  loadId: string;
  event: Exclude<WebhookEvent, 'audit.checkpoint'>;
}

/**
 * The webhook outbox: called inside the settlement transaction, it writes one delivery row per matching
 * active subscription and nothing else (never HTTP), so an event exists exactly when its state change
 * committed. Stateless: it writes with the caller's transaction manager.
 */
@Injectable()
export class WebhookOutbox {
  /** Returns how many deliveries were written. */
  async enqueue(m: EntityManager, items: readonly WebhookEnqueueItem[]): Promise<number> {
    if (items.length === 0) return 0;
    // A subscription sees the loads its own key created; an admin key's subscription sees all. A revoked key's
    // subscriptions hear nothing new. FOR SHARE: a concurrent DELETE waits for this commit and then fails
    // these rows too, or commits first and this query no longer matches it.
    const matches: Array<{ load_id: string; event: WebhookEvent; subscription_id: string }> = await m.query(
      `SELECT x.load_id, x.event, s.id AS subscription_id
       FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS x(load_id, event, ord)
       JOIN card_loads l ON l.id = x.load_id
       JOIN webhook_subscriptions s ON s.deleted_at IS NULL AND x.event = ANY (s.events) AND (s.all_loads OR s.api_key_id = l.api_key_id)
       JOIN api_keys k ON k.id = s.api_key_id AND k.revoked_at IS NULL
       ORDER BY x.ord, s.id
       FOR SHARE OF s`,
      [items.map((i) => i.loadId), items.map((i) => i.event)],
    );
    if (matches.length === 0) return 0;
    const documents = await this.loadDocuments(m, [...new Set(matches.map((x) => x.load_id))]);
    // The new event waits behind any earlier event of its load; one that had failed for good is retried with it
    // (a fresh budget), so the receiver still gets the load's events in order once it is back.
    await m.query(
      `WITH revived AS (
         UPDATE webhook_deliveries d SET status = 'pending', due_at = clock_timestamp(), budget_started_at = clock_timestamp(),
           failed_at = NULL, updated_at = clock_timestamp()
         FROM unnest($1::uuid[], $2::uuid[]) AS x(s, l)
         WHERE d.subscription_id = x.s AND d.load_id = x.l AND d.status = 'failed')
       INSERT INTO webhook_deliveries (subscription_id, load_id, event, data)
       SELECT s, l, e, d FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::json[]) WITH ORDINALITY AS x(s, l, e, d, ord) ORDER BY ord`,
      [
        matches.map((x) => x.subscription_id),
        matches.map((x) => x.load_id),
        matches.map((x) => x.event),
        matches.map((x) => documents.get(x.load_id)),
      ],
    );
    return matches.length;
  }

  /**
   * An `audit.checkpoint` event (docs/audit.md) to every active subscription that asked for it, whoever's key:
   * a checkpoint is the ledger's, not a load's. `data` is the signed checkpoint as written to the file.
   */
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

  /** The document of GET /v1/card-loads/{id}, read in this transaction (so it shows the state just written). */
  private async loadDocuments(m: EntityManager, loadIds: string[]): Promise<Map<string, string>> {
    const loads: CardLoadRow[] = await m.query(`SELECT * FROM card_loads WHERE id = ANY ($1::uuid[])`, [loadIds]);
    const events: Array<LoadEventRow & { load_id: string }> = await m.query(
      `SELECT * FROM load_events WHERE load_id = ANY ($1::uuid[]) ORDER BY load_id, id`,
      [loadIds],
    );
    const byLoad = new Map<string, LoadEventRow[]>();
    for (const e of events) {
      const list = byLoad.get(e.load_id);
      if (list) list.push(e);
      else byLoad.set(e.load_id, [e]);
    }
    return new Map(loads.map((l) => [l.id, JSON.stringify({ ...cardLoadView(l), events: (byLoad.get(l.id) ?? []).map(loadEventView) })]));
  }
}
