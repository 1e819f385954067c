import { Module } from '@nestjs/common';
import { CardLoadsStore } from '../card-loads/card-loads.store';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookOutbox } from './webhook-outbox';

/**
 * Only the outbox (and the stores it writes and reads with), so SettlementModule can write events without depending on
 * the HTTP side of webhooks.
 */
@Module({ providers: [WebhookOutbox, WebhookDeliveriesStore, CardLoadsStore], exports: [WebhookOutbox] })
export class WebhookOutboxModule {}
