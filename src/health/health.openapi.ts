import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { ApiErrorResponse } from '../openapi/error.schema';

/** Reply shapes of the probes, for the OpenAPI document only. */
@ApiSchema({ name: 'Liveness' })
class LiveDoc {
  @ApiProperty({ enum: ['ok'] }) status: 'ok';
}

@ApiSchema({ name: 'ReadinessChecks' })
class ChecksDoc {
  @ApiProperty({ enum: ['ok', 'unreachable'] }) database: string;
  @ApiProperty({ enum: ['ok', 'pending', 'unknown'], description: 'Every migration of this build applied.' }) migrations: string;
  @ApiProperty({ enum: ['ok', 'not running here', 'stalled'], description: 'The sync worker loop, where ROLE runs it.' }) worker: string;
  @ApiProperty({
    enum: ['ok', 'forked', 'held', 'unknown'],
    description:
      'The database is the one the ledger recorded (`forked`: a restore ' +
      'or clone not handled yet; `held`: sends wait for POST /v1/database/adopt). See docs/operations.md, "Backup and restore".',
  })
  databaseIdentity: string;
  @ApiProperty({
    enum: ['not configured', 'ok', 'lagging', 'unreachable', 'not in recovery', 'diverged'],
    description:
      'The read replica of auditor reads (DATABASE_READ_URL); never fails readiness, the primary serves every read it cannot. ' +
      '`lagging`: behind the primary by more than DATABASE_READ_MAX_LAG_MS, or not streaming; `diverged`: on another ' +
      'timeline or cluster than the primary; `unreachable` also when it has not answered within 300 ms. ' +
      'See docs/operations.md, "Read replicas".',
  })
  replica: string;
  @ApiProperty({ type: Number, nullable: true, description: "The replica's replay lag in ms, when it answered." })
  replicaLagMs: number | null;
}

@ApiSchema({ name: 'Readiness' })
class ReadyDoc {
  @ApiProperty({ enum: ['ok'] }) status: 'ok';
  @ApiProperty({ type: ChecksDoc }) checks: ChecksDoc;
}

export const DocLive = () => applyDecorators(ApiOperation({ summary: 'Liveness: the process answers' }), ApiOkResponse({ type: LiveDoc }));

export const DocReady = () =>
  applyDecorators(
    ApiOperation({ summary: 'Readiness: database reachable, migrations applied, worker alive where it runs' }),
    ApiOkResponse({ type: ReadyDoc }),
    ApiErrorResponse(503, 'Not ready; `details` names each failing check.', [
      'service_unavailable',
      'not ready: {"database":"ok","migrations":"ok","worker":"ok","databaseIdentity":"held"}',
    ]),
  );
