import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { AuthedRequest } from '../auth/api-key.guard';
import { RequireScopes } from '../auth/scopes';
import { CreateWebhookDto, ListDeliveriesQuery, ListLoadDeliveriesQuery, ListWebhooksQuery, RotateWebhookSecretDto } from './webhook.dto';
import {
  DocCreateWebhook,
  DocDeleteWebhook,
  DocGetWebhook,
  DocListDeliveries,
  DocListWebhooks,
  DocLoadDeliveries,
  DocRedeliver,
  DocRotateWebhookSecret,
} from './webhooks.openapi';
import { WebhooksService } from './webhooks.service';

/** Webhook subscriptions of the calling key (an admin key sees and manages all). */
@ApiTags('webhooks')
@Controller('v1/webhooks')
@RequireScopes('loads:write')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @DocCreateWebhook(CreateWebhookDto)
  create(@Req() req: AuthedRequest, @Body() body: CreateWebhookDto) {
    return this.webhooks.create(req.caller!, body, String(req.id));
  }

  @Get()
  @DocListWebhooks()
  list(@Req() req: AuthedRequest, @Query() query: ListWebhooksQuery) {
    return this.webhooks.list(req.caller!, query);
  }

  /** Declared before ':id' for readers; the router prefers the literal path anyway. */
  @Get('deliveries')
  @DocLoadDeliveries()
  loadDeliveries(@Req() req: AuthedRequest, @Query() query: ListLoadDeliveriesQuery) {
    return this.webhooks.loadDeliveries(req.caller!, query);
  }

  @Get(':id')
  @DocGetWebhook()
  get(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.webhooks.get(req.caller!, id);
  }

  @Delete(':id')
  @DocDeleteWebhook()
  remove(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.webhooks.remove(req.caller!, id, String(req.id));
  }

  /** 200, not 201: the subscription stays the same one; the body is optional. */
  @Post(':id/rotate-secret')
  @HttpCode(200)
  @DocRotateWebhookSecret(RotateWebhookSecretDto)
  rotateSecret(@Req() req: AuthedRequest, @Param('id') id: string, @Body() body: RotateWebhookSecretDto) {
    return this.webhooks.rotateSecret(req.caller!, id, body, String(req.id));
  }

  @Get(':id/deliveries')
  @DocListDeliveries()
  deliveries(@Req() req: AuthedRequest, @Param('id') id: string, @Query() query: ListDeliveriesQuery) {
    return this.webhooks.deliveries(req.caller!, id, query);
  }

  /** 202: queued; the delivery log tells when it went out. */
  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @DocRedeliver()
  redeliver(@Req() req: AuthedRequest, @Param('id') id: string, @Param('deliveryId') deliveryId: string) {
    return this.webhooks.redeliver(req.caller!, id, deliveryId);
  }
}
