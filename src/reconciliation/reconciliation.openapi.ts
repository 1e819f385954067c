import { applyDecorators } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiQuery,
  ApiSchema,
  getSchemaPath,
} from '@nestjs/swagger';
import { LOAD_STATUSES } from '../card-loads/card-load.dto';
import { AMOUNT_OUT } from '../common/money.openapi';
import { ApiJsonOrCsv } from '../openapi/decorators';
import { ApiErrorResponse } from '../openapi/error.schema';
import { NULLABLE_TIME, TIME } from '../openapi/schemas';
import { FINDING_KINDS } from './reconciliation.compare';

/**
 * Reply shapes of the reconciliation routes, for the OpenAPI document only (reconciliation.view.ts and
 * reconciliation-report.service.ts build the real ones), and the decorators of its routes.
 */
const NULLABLE_AMOUNT = { ...AMOUNT_OUT, nullable: true };

@ApiSchema({ name: 'ReconciliationRun' })
class RunDoc {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['schedule', 'manual'] }) trigger: string;
  @ApiProperty({ enum: ['running', 'completed', 'failed'] }) status: string;
  @ApiProperty(TIME) startedAt: string;
  @ApiProperty(NULLABLE_TIME) finishedAt: string | null;
  @ApiProperty({ ...NULLABLE_TIME, description: 'Loads created from here were checked; null on the first run (all of them).' }) windowFrom:
    string | null;
  @ApiProperty(TIME) windowTo: string;
  @ApiProperty({ type: 'integer' }) checkedLoads: number;
  @ApiProperty({ type: 'integer' }) checkedCards: number;
  @ApiProperty({ type: 'integer' }) findingsCount: number;
  @ApiProperty({ type: String, nullable: true, description: 'Why a `failed` run stopped.' }) error: string | null;
}

@ApiSchema({ name: 'ReconciliationFinding' })
class FindingDoc {
  @ApiProperty({ example: '42', description: 'Increasing; findings are never edited.' }) id: string;
  @ApiProperty({ format: 'uuid' }) runId: string;
  @ApiProperty({ enum: FINDING_KINDS }) kind: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) loadId: string | null;
  @ApiProperty({ type: String, nullable: true, description: "The load's uniqueReferenceNumber." }) reference: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'card:EKCMB7KAEW' }) accountCode: string | null;
  @ApiProperty(NULLABLE_AMOUNT) ledgerAmount: string | null;
  @ApiProperty(NULLABLE_AMOUNT) enkashAmount: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'What each side showed (`ledger`, `enkash`, sometimes `note`).' })
  evidence: Record<string, unknown>;

  @ApiProperty(TIME) foundAt: string;
}

@ApiSchema({ name: 'ReconciliationRunWithFindings' })
class RunWithFindingsDoc extends RunDoc {
  @ApiProperty({ type: [FindingDoc], description: "The run's findings (the first 500; the report lists all, by `runId`)." })
  findings: FindingDoc[];
}

@ApiSchema({ name: 'ReconciliationLoadsByStatus' })
class LoadsByStatusDoc {
  @ApiProperty({ example: 'INR' }) currency: string;
  @ApiProperty({ enum: LOAD_STATUSES }) status: string;
  @ApiProperty({ type: 'integer' }) count: number;
  @ApiProperty(AMOUNT_OUT) amount: string;
}

@ApiSchema({ name: 'ReconciliationCurrencyTotal' })
class CurrencyTotalDoc {
  @ApiProperty({ example: 'INR' }) currency: string;
  @ApiProperty({ type: 'integer' }) count: number;
  @ApiProperty(AMOUNT_OUT) amount: string;
}

/** Counts by age since creation: the buckets of AGE_BUCKETS in reconciliation-report.service.ts. */
@ApiSchema({ name: 'ReconciliationAgeBucketCounts' })
class AgeBucketCountsDoc {
  @ApiProperty({ type: 'integer' }) '<1m': number;
  @ApiProperty({ type: 'integer' }) '1-5m': number;
  @ApiProperty({ type: 'integer' }) '5-60m': number;
  @ApiProperty({ type: 'integer' }) '1-24h': number;
  @ApiProperty({ type: 'integer' }) '>24h': number;
}

@ApiSchema({ name: 'ReconciliationAgeBuckets' })
class AgeBucketsDoc {
  @ApiProperty({ enum: ['pending', 'needs_review'] }) status: string;
  @ApiProperty({ type: AgeBucketCountsDoc, description: 'Loads still in this status, by age since creation.' }) buckets: AgeBucketCountsDoc;
}

@ApiSchema({ name: 'ReconciliationReport' })
class ReportDoc {
  @ApiProperty({ ...NULLABLE_TIME, description: 'The `from` asked for.' }) from: string | null;
  @ApiProperty({ ...NULLABLE_TIME, description: 'The `to` asked for.' }) to: string | null;
  @ApiProperty(TIME) asOf: string;
  @ApiProperty({ type: [LoadsByStatusDoc], description: 'Loads created in the window, every status of every currency (zeros included).' })
  loads: LoadsByStatusDoc[];
  @ApiProperty({ type: [CurrencyTotalDoc] }) totals: CurrencyTotalDoc[];
  @ApiProperty({ type: [AgeBucketsDoc] }) ageBuckets: AgeBucketsDoc[];
  @ApiProperty({ type: RunDoc, nullable: true, description: 'The latest run, whatever its window; null before the first.' })
  lastRun: RunDoc | null;
  @ApiProperty({ type: [FindingDoc], description: 'Findings found in the window (or of `runId`), newest first: one page.' })
  data: FindingDoc[];
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor: string | null;
}

/** GET /v1/reports/reconciliation */
export const DocReconciliationReport = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Loads by status, what is still open and for how long, and the findings against EnKash',
      description: 'Also CSV (`Accept: text/csv` or `?format=csv`): every finding in the window (the summary does not fit a table).',
    }),
    ApiQuery({ name: 'runId', required: false, description: "Only this run's findings.", schema: { type: 'string', format: 'uuid' } }),
    ApiJsonOrCsv(ReportDoc, 'The report.'),
  );

/** GET /v1/reports/reconciliation/runs */
export const DocReconciliationRuns = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Reconciliation runs, newest first',
      description: "Scheduled and manual runs, a failed one with its `error`; a run's findings are in the report, by `runId`.",
    }),
    ApiExtraModels(RunDoc),
    ApiOkResponse({
      description: 'One page of runs.',
      schema: {
        type: 'object',
        required: ['data', 'nextCursor'],
        properties: { data: { type: 'array', items: { $ref: getSchemaPath(RunDoc) } }, nextCursor: { type: 'string', nullable: true } },
      },
    }),
  );

/** POST /v1/reports/reconciliation/runs */
export const DocReconciliationRun = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Run a reconciliation against EnKash now',
      description: 'Runs in this request and answers the finished run with its findings.',
    }),
    ApiCreatedResponse({ type: RunWithFindingsDoc, description: 'The finished run (`completed`, or `failed` with `error`).' }),
    ApiErrorResponse(409, 'Another run is in progress.', [
      'conflict',
      'a reconciliation run is in progress; ask again when it has finished',
    ]),
    ApiErrorResponse(503, 'This instance has no EnKash client (ENKASH_BASE_URL unset with ROLE=api).', [
      'service_unavailable',
      'reconciliation runs need EnKash, and this instance has no EnKash client',
    ]),
  );
