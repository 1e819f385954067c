import { Module } from '@nestjs/common';
import { WebhookOutbox } from './webhook-outbox';

/** Only the outbox, so SettlementModule can write events without depending on the HTTP side of webhooks. */
@Module({ providers: [WebhookOutbox], exports: [WebhookOutbox] })
export class WebhookOutboxModule {}
