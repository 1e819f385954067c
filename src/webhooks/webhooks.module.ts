import { Module } from '@nestjs/common';
import { webhookConfigProvider, WEBHOOK_CONFIG } from './webhook-config';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookSecretBox } from './webhook-secret-box';
import { WebhookSender } from './webhook-sender';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/**
 * Subscriptions API, and what the delivery worker needs (it is registered by worker/worker.module.ts, where the
 * worker runs). The outbox is WebhookOutboxModule.
 */
@Module({
  controllers: [WebhooksController],
  providers: [webhookConfigProvider, WebhookSecretBox, WebhooksService, WebhookDeliveriesStore, WebhookSender],
  exports: [WEBHOOK_CONFIG, WebhookSecretBox, WebhookDeliveriesStore, WebhookSender],
})
export class WebhooksModule {}
