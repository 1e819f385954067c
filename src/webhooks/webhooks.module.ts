import { Module } from '@nestjs/common';
import { ApiKeysStore } from '../auth/api-keys.store';
import { webhookConfigProvider, WEBHOOK_CONFIG } from './webhook-config';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookSubscriptionsStore } from './webhook-subscriptions.store';
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
  providers: [
    webhookConfigProvider,
    WebhookSecretBox,
    WebhooksService,
    WebhookDeliveriesStore,
    WebhookSubscriptionsStore,
    ApiKeysStore,
    WebhookSender,
  ],
  exports: [WEBHOOK_CONFIG, WebhookSecretBox, WebhookDeliveriesStore, WebhookSender],
})
export class WebhooksModule {}
