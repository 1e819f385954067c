import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { WEBHOOK_CONFIG, loadWebhookConfig } from './webhook-config';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';
import { WebhookSecretBox } from './webhook-secret-box';
import { WebhookSender } from './webhook-sender';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/** Subscriptions API and the delivery worker (started where ROLE is all or worker). The outbox is WebhookOutboxModule. */
@Module({
  controllers: [WebhooksController],
  providers: [
    { provide: WEBHOOK_CONFIG, useFactory: (app: AppConfig) => loadWebhookConfig(process.env, app), inject: [APP_CONFIG] },
    WebhookSecretBox, WebhooksService, WebhookDeliveriesStore, WebhookSender, WebhookDeliveryWorker,
  ],
})
export class WebhooksModule {}
