import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { ApiKeysStore } from './api-keys.store';
import { WebhookSubscriptionsStore } from '../webhooks/webhook-subscriptions.store';

@Module({
  controllers: [ApiKeysController],
  providers: [ApiKeysService, ApiKeysStore, WebhookSubscriptionsStore, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeysService],
})
export class AuthModule {}
