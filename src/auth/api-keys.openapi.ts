import { applyDecorators, Type } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { ApiUuidParam } from '../openapi/decorators';
import { ApiNotFound } from '../openapi/error.schema';
import { NULLABLE_TIME, PageOf, TIME } from '../openapi/schemas';
import { SCOPES } from './scopes';

/** Reply shapes of the key routes, for the OpenAPI document only (api-keys.service.ts builds them). */
@ApiSchema({ name: 'ApiKey' })
class ApiKeyDoc {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'billing-prod' }) name: string;
  @ApiProperty({ example: 'ckl_Zx3f', description: 'The first characters, to recognise a key; never enough to use it.' }) prefix: string;
  @ApiProperty({ enum: SCOPES, isArray: true, example: ['loads:write'] }) scopes: string[];
  @ApiProperty(TIME) createdAt: string;
  @ApiProperty(NULLABLE_TIME) revokedAt: string | null;
}

@ApiSchema({ name: 'ApiKeyCreated' })
class ApiKeyCreatedDoc extends ApiKeyDoc {
  @ApiProperty({
    example: 'ckl_Zx3fQ0k9...',
    description: 'The key itself: shown in this reply only, never again (only its hash is kept).',
  })
  key: string;
}

@ApiSchema({ name: 'SilencedWebhookSubscription' })
class SilencedDoc {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'https://billing.example.com/hooks/card-ledger' }) url: string;
}

@ApiSchema({ name: 'ApiKeyRevoked' })
class ApiKeyRevokedDoc extends ApiKeyDoc {
  @ApiProperty({ type: [SilencedDoc], description: 'Webhook subscriptions of this key: they hear no more events once it is revoked.' })
  silencedWebhookSubscriptions: SilencedDoc[];
  @ApiProperty({
    type: [String],
    example: [
      '1 webhook subscription(s) of this key hear no more events: ' +
        '8d0c… (https://billing.example.com/hooks/card-ledger); subscribe them again with a live key, or delete them',
    ],
  })
  warnings: string[];
}

/** The DTO is passed in: it lives in the controller file, which imports this one. */
export const DocCreateApiKey = (dto: Type) =>
  applyDecorators(
    ApiOperation({ summary: 'Create an API key' }),
    ApiBody({ type: dto, examples: { 'a billing system': { value: { name: 'billing-prod', scopes: ['loads:write'] } } } }),
    ApiCreatedResponse({ type: ApiKeyCreatedDoc }),
  );

export const DocListApiKeys = () =>
  applyDecorators(
    ApiOperation({ summary: 'List API keys, revoked ones too', description: 'Never shows a key.' }),
    ApiOkResponse({ type: PageOf(ApiKeyDoc, 'ApiKeyPage') }),
  );

export const DocRevokeApiKey = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Revoke an API key',
      description:
        'Takes effect at once on this instance, within a few seconds on the others. ' +
        'Always done; the answer names the webhook subscriptions that stop hearing events with it (`warnings`). ' +
        'Recorded in the audit trail.',
    }),
    ApiUuidParam(),
    ApiOkResponse({ type: ApiKeyRevokedDoc }),
    ApiNotFound('No such key.', 'api key'),
  );
