import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { cardLoadView, LoadEventRow, loadEventView } from '../card-loads/card-load.view';
import { CardLoadsStore } from '../card-loads/card-loads.store';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
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
  constructor(
    private readonly deliveries: WebhookDeliveriesStore,
    private readonly loads: CardLoadsStore,
  ) {}

  /** Returns how many deliveries were written. */
  async enqueue(m: EntityManager, items: readonly WebhookEnqueueItem[]): Promise<number> {
    if (items.length === 0) return 0;
    const matches = await this.deliveries.matchSubscriptions(m, items);
    if (matches.length === 0) return 0;
    const documents = await this.loadDocuments(m, [...new Set(matches.map((x) => x.load_id))]);
    await this.deliveries.enqueue(
      m,
      matches.map((x) => ({ subscriptionId: x.subscription_id, loadId: x.load_id, event: x.event, data: documents.get(x.load_id) })),
    );
    return matches.length;
  }

  /**
   * An `audit.checkpoint` event (docs/audit.md) to every active subscription that asked for it, whoever's key:
   * a checkpoint is the ledger's, not a load's. `data` is the signed checkpoint as written to the file.
   */
  enqueueCheckpoint(m: EntityManager, checkpoint: { document: string; signature: string }): Promise<number> {
    return this.deliveries.enqueueCheckpoint(m, checkpoint);
  }

  /** The document of GET /v1/card-loads/{id}, read in this transaction (so it shows the state just written). */
  private async loadDocuments(m: EntityManager, loadIds: string[]): Promise<Map<string, string>> {
    const { loads, events } = await this.loads.withEvents(m, loadIds);
    const byLoad = new Map<string, LoadEventRow[]>();
    for (const e of events) {
      const list = byLoad.get(e.load_id);
      if (list) list.push(e);
      else byLoad.set(e.load_id, [e]);
    }
    return new Map(loads.map((l) => [l.id, JSON.stringify({ ...cardLoadView(l), events: (byLoad.get(l.id) ?? []).map(loadEventView) })]));
  }
}
