import { applyDecorators, Type } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiSchema,
} from '@nestjs/swagger';
import { CardLoadDetailDoc } from '../card-loads/card-load.openapi';
import { ApiUuidParam } from '../openapi/decorators';
import { ApiErrorResponse, ApiNotFound } from '../openapi/error.schema';
import { NULLABLE_TIME, PageOf, TIME } from '../openapi/schemas';
import { DELIVERY_STATUSES } from './webhook.dto';
import { WEBHOOK_EVENTS } from './webhook-events';

/** Reply shapes of the webhook routes, for the OpenAPI document only (webhook.view.ts builds the real ones). */
@ApiSchema({ name: 'WebhookSubscription' })
class SubscriptionDoc {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'https://billing.example.com/hooks/card-ledger' }) url: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true }) events: string[];
  @ApiProperty({ format: 'uuid', description: 'The key that owns it.' }) apiKeyId: string;
  @ApiProperty({ description: 'true: every load (made with an admin key); false: only loads created by the owning key.' })
  allLoads: boolean;
  @ApiProperty(TIME) createdAt: string;
  @ApiProperty(NULLABLE_TIME) deletedAt: string | null;
}

@ApiSchema({ name: 'WebhookSubscriptionCreated' })
class SubscriptionCreatedDoc extends SubscriptionDoc {
  @ApiProperty({ example: 'whsec_Zx3fQ0k9...', description: 'The signing secret: in this reply only, never again (stored encrypted).' })
  secret: string;
}

@ApiSchema({ name: 'WebhookAttempt' })
class AttemptDoc {
  @ApiProperty(TIME) at: string;
  @ApiProperty({ enum: ['succeeded', 'http_error', 'timeout', 'network_error', 'not_sent'] }) status: string;
  @ApiProperty({ type: 'integer', nullable: true, example: 500 }) httpStatus: number | null;
  @ApiProperty({ type: 'integer', example: 42 }) durationMs: number;
  @ApiProperty({ type: String, nullable: true, example: 'HTTP 500: receiver is down' }) error: string | null;
}

@ApiSchema({ name: 'WebhookDelivery' })
class DeliveryDoc {
  @ApiProperty({ format: 'uuid', description: 'The event id (Card-Ledger-Event-Id).' }) id: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS }) type: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null for `audit.checkpoint` (an event of no load).' })
  loadId: string | null;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status: string;
  @ApiProperty(TIME) createdAt: string;
  @ApiProperty(NULLABLE_TIME) nextAttemptAt: string | null;
  @ApiProperty(NULLABLE_TIME) deliveredAt: string | null;
  @ApiProperty(NULLABLE_TIME) failedAt: string | null;
  @ApiProperty({ type: 'integer', nullable: true }) lastHttpStatus: number | null;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ type: [AttemptDoc] }) attempts: AttemptDoc[];
}

@ApiSchema({ name: 'WebhookDeliveryOfLoad' })
class DeliveryOfLoadDoc extends DeliveryDoc {
  @ApiProperty({ format: 'uuid', description: 'The subscription it was delivered to.' }) subscriptionId: string;
}

/** The body POSTed to a subscription's URL (documented here; it is not a reply of this API). */
@ApiSchema({ name: 'WebhookEventBody' })
class EventBodyDoc {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS }) type: string;
  @ApiProperty(TIME) createdAt: string;
  @ApiProperty({ type: CardLoadDetailDoc, description: 'The load as GET /v1/card-loads/{id} showed it when the event happened.' })
  data: CardLoadDetailDoc;
}

const ID = ApiUuidParam();
const NOT_FOUND = ApiNotFound("No such subscription, or another key's.", 'webhook subscription');

export const DocCreateWebhook = (dto: Type) =>
  applyDecorators(
    ApiOperation({
      summary: 'Subscribe to card-load events',
      description:
        'Each event is POSTed as a WebhookEventBody, signed in ' +
        '`Card-Ledger-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` ' +
        '(during a secret rotation, one v1 per secret: accept any). See docs/webhooks.md.',
    }),
    ApiExtraModels(EventBodyDoc),
    ApiBody({
      type: dto,
      examples: { 'every event': { value: { url: 'https://billing.example.com/hooks/card-ledger', events: [...WEBHOOK_EVENTS] } } },
    }),
    ApiCreatedResponse({ type: SubscriptionCreatedDoc }),
    ApiErrorResponse(409, 'Too many subscriptions for this key.', [
      'conflict',
      'an API key may hold at most 25 webhook subscriptions; delete one first',
    ]),
  );

export const DocListWebhooks = () =>
  applyDecorators(
    ApiOperation({ summary: 'List subscriptions', description: "The calling key's own; an admin key sees all. Oldest first." }),
    ApiOkResponse({ type: PageOf(SubscriptionDoc, 'WebhookSubscriptionPage') }),
  );

export const DocGetWebhook = () =>
  applyDecorators(ApiOperation({ summary: 'Read a subscription' }), ID, ApiOkResponse({ type: SubscriptionDoc }), NOT_FOUND);

export const DocDeleteWebhook = () =>
  applyDecorators(
    ApiOperation({ summary: 'Delete a subscription', description: 'The owning key or an admin. Undelivered events are dropped (failed).' }),
    ID,
    ApiOkResponse({ type: SubscriptionDoc }),
    NOT_FOUND,
  );

export const DocRotateWebhookSecret = (dto: Type) =>
  applyDecorators(
    ApiOperation({
      summary: 'Rotate the signing secret',
      description:
        'Answers a new secret, once. Until `expiresInSeconds` have passed, every event is signed with both: ' +
        '`Card-Ledger-Signature: t=<unix>,v1=<hex, new secret>,v1=<hex, old secret>`; then with the new one only. ' +
        'Rotating again while an old secret is still valid replaces it with the then-current one (one old secret at most).',
    }),
    ID,
    ApiBody({
      type: dto,
      required: false,
      examples: {
        'a day to switch': { value: { expiresInSeconds: 86400 } },
        'revoke the old secret now': { value: { expiresInSeconds: 0 } },
      },
    }),
    ApiOkResponse({ type: SubscriptionCreatedDoc }),
    NOT_FOUND,
  );

export const DocListDeliveries = () =>
  applyDecorators(
    ApiOperation({ summary: 'The delivery log', description: 'Newest first, each delivery with every attempt.' }),
    ID,
    ApiOkResponse({ type: PageOf(DeliveryDoc, 'WebhookDeliveryPage') }),
    NOT_FOUND,
  );

export const DocRedeliver = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Send an event again',
      description: 'Same id and body, a fresh retry budget; earlier failed events of the same load go first.',
    }),
    ID,
    ApiUuidParam('deliveryId'),
    ApiAcceptedResponse({ type: DeliveryDoc }),
    NOT_FOUND,
  );

export const DocLoadDeliveries = () =>
  applyDecorators(
    ApiOperation({
      summary: 'The deliveries one card load caused',
      description: "Across the calling key's subscriptions (an admin key: all), newest first, each with every attempt.",
    }),
    ApiOkResponse({ type: PageOf(DeliveryOfLoadDoc, 'WebhookDeliveryOfLoadPage') }),
  );
