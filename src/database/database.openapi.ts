import { applyDecorators, Type } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { ApiErrorResponse } from '../openapi/error.schema';
import { NULLABLE_TIME, TIME } from '../openapi/schemas';

/** Reply shape of the database identity routes, for the OpenAPI document only (database-identity.service.ts builds it). */
@ApiSchema({ name: 'DatabaseIdentityValues' })
class IdentityDoc {
  @ApiProperty({ example: '7713581319979591794', description: 'pg_control_system().system_identifier: new for every initdb.' })
  systemIdentifier: string;
  @ApiProperty({ example: '16384', description: "The database's OID: new for every CREATE DATABASE (a pg_restore target)." })
  databaseOid: string;
  @ApiProperty({ example: 1, description: 'The WAL timeline: new after a failover or a point-in-time restore.' }) timeline: number;
}

@ApiSchema({ name: 'DatabaseFork' })
class ForkDoc {
  @ApiProperty({ enum: ['cluster', 'database', 'timeline', 'silence', 'missing'] }) kind: string;
  @ApiProperty(TIME) detectedAt: string;
  @ApiProperty({ type: String, nullable: true, example: 'system 7713581319979591794, database oid 16384, timeline 1' })
  previousIdentity: string | null;
}

@ApiSchema({ name: 'DatabaseIdentity' })
class StatusDoc {
  @ApiProperty({ type: IdentityDoc, nullable: true, description: 'The identity the ledger recorded (null if its row is gone).' })
  recorded: IdentityDoc | null;
  @ApiProperty({ type: IdentityDoc, description: 'The database this instance is connected to.' }) live: IdentityDoc;
  @ApiProperty({
    enum: ['open', 'forked', 'held'],
    description:
      '`open`: loads are sent. `forked`: the two differ and no worker has ' +
      'handled it yet. `held`: a fork was handled (every open load looked up first) and sends wait for POST /v1/database/adopt.',
  })
  gate: string;
  @ApiProperty(NULLABLE_TIME) sendsHeldSince: string | null;
  @ApiProperty({ type: ForkDoc, nullable: true, description: 'The last fork handled, if any.' }) lastFork: ForkDoc | null;
}

export const DocDatabaseIdentity = () =>
  applyDecorators(
    ApiOperation({ summary: 'Is this database the one the ledger ran on', description: 'See docs/operations.md, "Backup and restore".' }),
    ApiOkResponse({ type: StatusDoc }),
  );

/** The DTO is passed in: it lives with the operator routes. */
export const DocAdoptDatabase = (dto: Type) =>
  applyDecorators(
    ApiOperation({
      summary: 'Adopt this database after a restore or clone: sends resume',
      description:
        'Only when sends are held (DATABASE_FORK_POLICY). Confirm first that the copy it came from is stopped or was never ' +
        'pointed at this EnKash. Every open load is still looked up before it is sent. Recorded in the audit trail with the reason.',
    }),
    ApiBody({ type: dto, examples: { restore: { value: { reason: 'restored from the 02:00 dump after the disk failure' } } } }),
    ApiOkResponse({ type: StatusDoc }),
    ApiErrorResponse(409, 'Sends are not held (nothing to adopt), or no worker has handled the fork yet.', [
      'invalid_state',
      'sends are not held: this database is the one the ledger recorded, nothing to adopt',
    ]),
  );
