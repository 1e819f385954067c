import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  registerDecorator,
} from 'class-validator';
import { PageQuery } from '../common/list-query';
import { WEBHOOK_EVENTS, WebhookEvent } from './webhook-events';

export const WEBHOOK_URL_MAX = 2048;

/**
 * The URL as the WHATWG parser (what fetch and undici use) serialises it: `HTTP://Host/x` → `http://host/x`,
 * surrounding spaces dropped, `http:/host/x` → `http://host/x`. Stored and checked in this form only, so the
 * database, the SSRF guard and the sender all see the URL that will be requested. Anything unparsable is left
 * as it was, for the validator to refuse.
 */
export function normaliseWebhookUrl(v: unknown): unknown {
  if (typeof v !== 'string' || v.length > 2 * WEBHOOK_URL_MAX) return v;
  try {
    return new URL(v).href;
  } catch {
    return v;
  }
}

/** Absolute http(s) URL without credentials: userinfo would be stored and shown in clear; the signature authenticates. */
export function isWebhookUrl(v: unknown): boolean {
  if (typeof v !== 'string' || v.length > WEBHOOK_URL_MAX) return false;
  try {
    const u = new URL(v);
    return (
      u.href === v && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && u.username === '' && u.password === ''
    );
  } catch {
    return false;
  }
}

function IsWebhookUrl() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isWebhookUrl',
      target: target.constructor,
      propertyName,
      validator: {
        validate: isWebhookUrl,
        defaultMessage: () => `must be an absolute http:// or https:// URL without user:password, at most ${WEBHOOK_URL_MAX} characters`,
      },
    });
}

export class CreateWebhookDto {
  @ApiProperty({
    maxLength: WEBHOOK_URL_MAX,
    example: 'https://billing.example.com/hooks/card-ledger',
    description:
      'http(s), no user:password; stored as the WHATWG URL parser serialises it (`HTTP://Example.com/x` → ' +
      '`http://example.com/x`); redirects are not followed. Must reach a public address (not loopback, private, link-local...) ' +
      'unless the service runs with WEBHOOK_ALLOW_PRIVATE_URLS=true.',
  })
  @Transform(({ value }) => normaliseWebhookUrl(value))
  @IsWebhookUrl()
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true, example: [...WEBHOOK_EVENTS] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENTS.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENTS, { each: true, message: `each must be one of ${WEBHOOK_EVENTS.join(', ')}` })
  events: WebhookEvent[];
}

/** Stripe's bound: a receiver gets up to a week to switch to the new secret. */
export const ROTATION_EXPIRY_MAX_SECONDS = 7 * 24 * 3600;
export const ROTATION_EXPIRY_DEFAULT_SECONDS = 24 * 3600;

export class RotateWebhookSecretDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: ROTATION_EXPIRY_MAX_SECONDS,
    default: ROTATION_EXPIRY_DEFAULT_SECONDS,
    description: 'How long the current secret keeps signing beside the new one; 0 drops it at once (e.g. it leaked).',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(ROTATION_EXPIRY_MAX_SECONDS)
  expiresInSeconds?: number;
}

export class ListWebhooksQuery extends PageQuery {}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export class ListLoadDeliveriesQuery extends PageQuery {
  @ApiProperty({ format: 'uuid', description: 'The card load.' })
  @IsString()
  loadId: string;
}

export class ListDeliveriesQuery extends ListWebhooksQuery {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}
