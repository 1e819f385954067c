import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { ApiErrorResponse } from '../openapi/error.schema';
import { PageOf, TIME } from '../openapi/schemas';

/** Reply shapes of the audit routes, for the OpenAPI document only (audit-verifier.service.ts builds them). */
@ApiSchema({ name: 'AuditFinding' })
class FindingDoc {
  @ApiProperty({
    example: 'chain',
    description:
      'The check: chain, checkpoints, unsealed, queue, auditTrail, or an invariant (balancesDifferFromEntries, ' + 'historyBroken, ...).',
  })
  check: string;

  @ApiProperty({
    example: '3f1e0b6a-2c1d-4e5f-8a9b-0c1d2e3f4a5b',
    description:
      'The row at fault: a transaction or load id, an account code, `code#seq` for a history row, `audit#seq` for an ' +
      'event of the audit trail.',
  })
  row: string;

  @ApiProperty({ example: 'seal MAC does not match: the seal was written or rewritten without the audit key' }) message: string;
}

@ApiSchema({ name: 'AuditVerification' })
class VerificationDoc {
  @ApiProperty({ description: 'true when no check found anything.' }) ok: boolean;
  @ApiProperty({ example: 1042, description: 'Seals walked and recomputed from the first.' }) checkedTransactions: number;
  @ApiProperty({ example: 3, description: 'Written, not sealed yet (the background sealer is behind by this many).' })
  unsealedTransactions: number;
  @ApiPropertyOptional({
    example: 57,
    description:
      'Events of the audit trail of admin actions walked and recomputed from the first ' +
      '(their MACs too when `keyed`); absent in results recorded before the trail existed.',
  })
  checkedAuditEvents?: number;
  @ApiPropertyOptional({
    example: 0,
    description:
      'Seals of archived months whose content was not recomputed, their tables not being here (docs/audit.md, ' +
      '"Archived months"); their links, MACs and anchors were checked. Absent when nothing is archived.',
  })
  archivedUnchecked?: number;

  @ApiProperty({ description: "Every seal's MAC was checked with the audit key." }) keyed: boolean;
  @ApiProperty({ example: { checked: 12, latestSeq: 1040 }, description: 'Signed checkpoints the chain was held to.' })
  checkpoints: { checked: number; latestSeq: number | null };

  @ApiPropertyOptional({ description: "The first finding's row: for a broken chain, the first transaction whose seal no longer holds." })
  brokenAt?: string;

  @ApiPropertyOptional({ description: 'The seal number where the chain broke.' }) seq?: number;
  @ApiPropertyOptional() reason?: string;
  @ApiProperty({ type: [FindingDoc], description: 'At most 20 per check.' }) findings: FindingDoc[];
  @ApiProperty(TIME) startedAt: string;
  @ApiProperty({ example: 8120 }) durationMs: number;
  @ApiProperty({ enum: ['schedule', 'manual'] }) trigger: string;
  @ApiProperty(TIME) finishedAt: string;
}

@ApiSchema({ name: 'AuditCheckpoint' })
class CheckpointDoc {
  @ApiProperty({ example: 1040 }) seq: number;
  @ApiProperty({
    description: 'The exact signed text (canonical JSON: ledgerCheckpoint, seq, transactionId, hash, keyedFrom, signedAt, keyId).',
  })
  document: string;

  @ApiProperty({ description: 'Ed25519 signature of `document` (UTF-8), base64.' }) signature: string;
}

@ApiSchema({ name: 'AuditPublicKey' })
class PublicKeyDoc {
  @ApiProperty({ enum: ['Ed25519'] }) algorithm: string;
  @ApiProperty({ example: '9c1f0e2d3b4a5968' }) keyId: string;
  @ApiProperty({ example: '-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n', description: 'SubjectPublicKeyInfo, PEM.' })
  publicKey: string;
}

export const DocVerify = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Verify the ledger now',
      description:
        'Runs the complete verifier (docs/audit.md): the seal chain from its first link (content, links, MACs) held to every ' +
        'signed checkpoint; every journal transaction sealed or queued, and the queue short; balances equal to their entries and to ' +
        'their last history row; history gapless and continuous; card balances equal to their posted loads. Each finding names its ' +
        'row. Requests arriving during a run share the next run. At 1,000,000 loads it takes about 45 s (bench/RESULTS.md).',
    }),
    ApiOkResponse({ type: VerificationDoc }),
  );

export const DocLatestVerification = () =>
  applyDecorators(
    ApiOperation({
      summary: 'The latest verification',
      description: 'Scheduled (AUDIT_VERIFY_INTERVAL_MS) or on demand, whichever is newer.',
    }),
    ApiOkResponse({ type: VerificationDoc }),
    ApiErrorResponse(404, 'No verification has run yet.', ['not_found', 'verification not found']),
  );

export const DocCheckpoints = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Signed chain-head checkpoints, newest first',
      description: "The database's copy; the anchors are the checkpoint file in DATA_DIR and the `audit.checkpoint` webhook events.",
    }),
    ApiOkResponse({ type: PageOf(CheckpointDoc, 'AuditCheckpointPage') }),
  );

export const DocPublicKey = () =>
  applyDecorators(
    ApiOperation({
      summary: 'The public key that signs checkpoints',
      description: 'Record it out of band once; then verify checkpoints with it alone.',
    }),
    ApiOkResponse({ type: PublicKeyDoc }),
  );

/** The stable past (docs/time.md), said once for every read as of a moment. */
export const STABLE_PAST =
  'Times: `asOf` includes every change at or before it, `from` is inclusive, `to` exclusive, to the microsecond. ' +
  'A read as of a moment (`asOf`, default now; `to`) answers once nothing that may still commit at or before it is in flight, so the ' +
  'same question always gets the same answer (docs/time.md).';

/**
 * 503 when that wait (LEDGER_FINAL_WAIT_MS) runs out; 410 when the moment or range is before the archive point
 * (docs/operations.md, "Partitions and archive").
 */
export const NotFinalYet = () =>
  applyDecorators(
    ApiErrorResponse(
      503,
      'A transaction that may still commit at or before the moment asked for is in flight after LEDGER_FINAL_WAIT_MS; ' +
        'retry after `Retry-After`.',
      [
        'service_unavailable',
        'the ledger at 2026-03-05T10:03:00.123Z is not final yet: a transaction that may still commit at or ' +
          'before it is in flight; retry',
      ],
    ),
    Archived(),
  );

/** 410 for a moment, a range or a transaction before the archive point (docs/operations.md, "Partitions and archive"). */
export const Archived = () =>
  ApiErrorResponse(410, 'The moment or range asked for lies before the archive point: those months are archived.', [
    'range_archived',
    'asOf 2026-01-05T10:03:00.123Z is before 2026-02-01T00:00:00.000Z: the journal and balance history before that ' +
      'moment are archived (docs/operations.md, "Partitions and archive"); ask for a later moment, or read the archive',
  ]);
