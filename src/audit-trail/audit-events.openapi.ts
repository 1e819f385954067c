import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { ApiJsonOrCsv } from '../openapi/decorators';
import { PageOf, TIME } from '../openapi/schemas';
import { AUDIT_ACTIONS } from './audit-trail';

/** Reply shape of GET /v1/audit/events, for the OpenAPI document only (audit-events.service.ts builds it). */
@ApiSchema({ name: 'AuditEvent' })
class AuditEventDoc {
  @ApiProperty({ example: 17, description: 'Position in the audit chain, from 1, without gaps.' }) seq: number;
  @ApiProperty(TIME) at: string;
  @ApiProperty({ example: 'night-operator', description: "The API key's name, `cli (<os user>)`, or the service itself." }) actor: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The key that acted; null for the CLI and the service.' })
  apiKeyId: string | null;
  @ApiProperty({ enum: AUDIT_ACTIONS }) action: string;
  @ApiProperty({ type: String, nullable: true, example: '0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60', description: 'What it acted on, by id.' })
  subject: string | null;
  @ApiProperty({ type: String, nullable: true, description: "The request's `x-request-id`; null outside a request." })
  requestId: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { name: 'billing-prod', scopes: ['loads:write'] },
    description: 'The facts of the action; never a secret.',
  })
  details: Record<string, unknown>;
  @ApiProperty({
    example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    description: "SHA-256 (hex) of the previous event's hash and this event's RFC 8785 canonical JSON: see docs/audit-trail.md.",
  })
  hash: string;
}

export const DocListAuditEvents = () =>
  applyDecorators(
    ApiOperation({
      summary: 'The audit trail of admin actions',
      description:
        'Newest first: API keys created, revoked and rotated, webhook subscriptions, operator decisions on loads, reconciliation ' +
        'runs, database forks and their adoption, service starts. Append-only and hash-chained. Also CSV (`Accept: text/csv` or ' +
        '`?format=csv`), streamed, same filters.',
    }),
    ApiJsonOrCsv(PageOf(AuditEventDoc, 'AuditEventPage')),
  );
