import { applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiSchema,
  getSchemaPath,
} from '@nestjs/swagger';
import { AMOUNT_OUT, METADATA_SCHEMA } from '../common/money.openapi';
import { ApiJsonOrCsv, ApiUuidParam } from '../openapi/decorators';
import { ApiErrorDetail, ApiErrorResponse, ApiNotFound, errorExample } from '../openapi/error.schema';
import { NULLABLE_TIME, PageOf, TIME } from '../openapi/schemas';
import { BATCH_MAX_LOADS } from './card-load-batch';
import { CreateCardLoadDto, IDEMPOTENCY_KEY, LOAD_STATUSES, LoadStatus, ResolveCardLoadDto } from './card-load.dto';
import { NotFinalYet } from '../ledger/audit.openapi';

/** The request of API.md, used as the documented example. */
export const CARD_LOAD_EXAMPLE = {
  enKashCardId: 'EKCMB7KAEW',
  amount: '1500.00',
  currency: 'INR',
  companyId: 'CEKEP5GSGP',
  cardAccountId: 'CABFIPS',
  description: 'March meal allowance',
  remarks: 'batch 42',
  metadata: { invoiceId: 'INV-9' },
};

/** Reply shapes of the card-load routes, for the OpenAPI document only (card-load.view.ts builds the real ones). */
@ApiSchema({ name: 'CardLoad' })
export class CardLoadDoc {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'CLMWW89S5EC9F3F026D77BB229', description: 'The uniqueReferenceNumber sent to EnKash; unique forever.' })
  reference: string;
  @ApiProperty({ example: 'EKCMB7KAEW' }) enKashCardId: string;
  @ApiProperty({ example: 'CEKEP5GSGP' }) companyId: string;
  @ApiProperty({ example: 'CABFIPS' }) cardAccountId: string;
  @ApiProperty(AMOUNT_OUT) amount: string;
  @ApiProperty({ example: 'INR' }) currency: string;
  @ApiProperty({ enum: LOAD_STATUSES, example: 'pending' }) status: LoadStatus;
  @ApiProperty({ type: 'integer', example: 0, description: 'EnKash sends made so far.' }) attempts: number;
  @ApiProperty(TIME) createdAt: string;
  @ApiProperty(TIME) updatedAt: string;
  @ApiProperty(NULLABLE_TIME) postedAt: string | null;
  @ApiProperty(NULLABLE_TIME) reversedAt: string | null;
  @ApiProperty({ ...NULLABLE_TIME, description: 'When a posted load was undone by an opposite transfer.' }) undoneAt: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) statusReason: string | null;
  @ApiProperty({ format: 'uuid', description: 'The pending journal transfer written at intake.' }) journalTransactionId: string;
  @ApiProperty({ type: String, nullable: true, example: 'March meal allowance' }) description: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'batch 42' }) remarks: string | null;
  @ApiProperty(METADATA_SCHEMA) metadata: Record<string, string>;
}

@ApiSchema({ name: 'CardLoadEvent' })
export class CardLoadEventDoc {
  @ApiProperty(TIME) at: string;
  @ApiProperty({
    example: 'enkash_send',
    description:
      'A state change (`created`, `posted`, `reversed`, `needs_review`, ...) or an EnKash call (`enkash_send`, `enkash_lookup`).',
  })
  type: string;
  @ApiProperty({ type: String, nullable: true, example: 'succeeded' }) outcome: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 200 }) httpStatus: number | null;
  @ApiProperty({ type: String, nullable: true, example: '0', description: "EnKash's response code." }) code: string | null;
  @ApiProperty({ type: String, nullable: true }) message: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 84 }) durationMs: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'The API key name of an operator decision.' }) actor: string | null;
}

@ApiSchema({ name: 'CardLoadWithEvents' })
export class CardLoadDetailDoc extends CardLoadDoc {
  @ApiProperty({ type: [CardLoadEventDoc], description: 'Every state change and every EnKash attempt, in order.' })
  events: CardLoadEventDoc[];
}

export const CardLoadPageDoc = PageOf(CardLoadDoc, 'CardLoadPage');

@ApiSchema({ name: 'CardLoadBatchItem' })
class BatchItemDoc {
  @ApiProperty({ type: 'integer', example: 0, description: 'Position in the request.' }) index: number;
  @ApiProperty({ type: 'integer', example: 201, description: 'What a single POST /v1/card-loads would have answered.' }) status: number;
  @ApiPropertyOptional({ type: CardLoadDoc, description: 'On 200/201.' }) load?: CardLoadDoc;
  @ApiPropertyOptional({ type: ApiErrorDetail, description: 'On a 4xx.' }) error?: ApiErrorDetail;
}

const REPLAYED = {
  'Idempotent-Replayed': {
    description: '`true` when this answer replays an earlier acceptance.',
    schema: { type: 'string', enum: ['true'] },
  },
};
const LOAD_NOT_FOUND = ApiNotFound("No such load, or another key's load asked for by a `loads:write` key.", 'card load');
const WHO_SEES =
  'Who sees which loads: a key with `loads:write` alone sees only the loads it created; `ledger:read` and `admin` ' + 'see every load.';

/** POST /v1/card-loads */
export const DocCreateCardLoad = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Create a card load',
      description:
        'Records the load in the ledger as a pending transfer from the parent card account and queues it for EnKash ' +
        '(never called inside the request). Retry with the same Idempotency-Key and body to get the same load back.',
    }),
    ApiHeader({
      name: 'Idempotency-Key',
      required: true,
      description: 'Your key for this load, scoped to your API key.',
      schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source, example: 'billing-2026-03-INV-9' },
    }),
    ApiBody({
      type: CreateCardLoadDto,
      examples: {
        'a load (API.md)': { value: CARD_LOAD_EXAMPLE },
        'the least': { value: { enKashCardId: 'EKCMB7KAEW', amount: '1500.00' } },
      },
    }),
    ApiCreatedResponse({ type: CardLoadDoc, description: 'Accepted: the load, `pending`.' }),
    ApiOkResponse({ type: CardLoadDoc, description: 'The same key with the same body again: the same load.', headers: REPLAYED }),
    ApiErrorResponse(
      409,
      'The key was used with another body, or the same request is still in flight.',
      ['idempotency_key_reused', 'this Idempotency-Key was already used with a different request body'],
      ['idempotency_key_in_progress', 'a request with this Idempotency-Key is in progress; retry'],
    ),
    ApiErrorResponse(
      422,
      'The parent card account cannot fund it (noOverdraft), or its totals would pass what the ledger records.',
      ['insufficient_funds', 'account parent:CABFIPS has insufficient available balance'],
      ['amount_out_of_range', "this load would take its parent's or its card's totals beyond what the ledger can record"],
    ),
  );

/** POST /v1/card-loads/batch */
export const DocCreateCardLoadBatch = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Create many card loads',
      description: 'Each item is validated and answered on its own, in request order; one bad item never blocks the others.',
    }),
    ApiBody({
      schema: {
        type: 'object',
        required: ['loads'],
        additionalProperties: false,
        properties: {
          loads: {
            type: 'array',
            minItems: 1,
            maxItems: BATCH_MAX_LOADS,
            items: {
              allOf: [
                { $ref: getSchemaPath(CreateCardLoadDto) },
                {
                  type: 'object',
                  required: ['idempotencyKey'],
                  properties: { idempotencyKey: { type: 'string', pattern: IDEMPOTENCY_KEY.source } },
                },
              ],
            },
          },
        },
      },
      examples: {
        'two loads': {
          value: {
            loads: [
              { ...CARD_LOAD_EXAMPLE, idempotencyKey: 'inv-9' },
              { enKashCardId: 'EKCMB7KAEX', amount: '250.00', idempotencyKey: 'inv-10' },
            ],
          },
        },
      },
    }),
    ApiExtraModels(CreateCardLoadDto, BatchItemDoc),
    ApiOkResponse({
      description: 'One result per item: `status` 201/200 with the `load`, or a 4xx with the `error`.',
      schema: {
        type: 'object',
        required: ['results'],
        properties: { results: { type: 'array', items: { $ref: getSchemaPath(BatchItemDoc) } } },
      },
    }),
  );

/** GET /v1/card-loads */
export const DocListCardLoads = () =>
  applyDecorators(
    ApiOperation({
      summary: 'List card loads',
      description:
        'Newest first (`order=asc`: oldest first). Also CSV (`Accept: text/csv` or `?format=csv`), ' +
        `streamed, same filters. ${WHO_SEES} Times: \`createdFrom\` inclusive, \`createdTo\` exclusive, to the microsecond; a list with ` +
        '`createdTo` (or the newest page) answers once ' +
        'every load before that moment is final (docs/time.md).',
    }),
    ApiJsonOrCsv(CardLoadPageDoc),
    NotFinalYet(),
  );

/** GET /v1/card-loads/{id} */
export const DocGetCardLoad = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Read a card load with its events',
      description: `${WHO_SEES} Another key's load answers 404, as if it did not exist.`,
    }),
    ApiUuidParam(),
    ApiOkResponse({ type: CardLoadDetailDoc }),
    LOAD_NOT_FOUND,
  );

/** What an operator's action on a load (resolve, requeue, undo) takes and answers: the load as it is after. */
const OperatedLoad = (after: string) =>
  applyDecorators(
    ApiUuidParam(),
    ApiOkResponse({ type: CardLoadDetailDoc, description: after }),
    ApiNotFound('No such load.', 'card load'),
  );

/** Resolve and requeue act only on a parked job: the worker's exchange is never raced (docs/design.md, "Who may change a load"). */
const NotInReviewOrInFlight = () =>
  ApiResponse({
    status: 409,
    description:
      '`invalid_state`: the load is not in `needs_review`. `load_in_flight`: an EnKash exchange for it is in flight or ' +
      'scheduled (a requeue), or, to reverse, a send may still land at EnKash; nothing was changed, retry after `Retry-After` seconds.',
    headers: { 'Retry-After': { description: 'With `load_in_flight`: seconds to wait before asking again.', schema: { type: 'integer' } } },
    content: {
      'application/json': {
        schema: { $ref: '#/components/schemas/Error' },
        examples: {
          invalid_state: { value: errorExample('invalid_state', 'card load is posted, not in needs_review') },
          load_in_flight: {
            value: errorExample(
              'load_in_flight',
              'card load has an EnKash exchange in flight or scheduled; it can be resolved once its job is parked in review again',
            ),
          },
        },
      },
    },
  });

/** POST /v1/card-loads/{id}/resolve */
export const DocResolveCardLoad = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Resolve a load in review to posted or reversed',
      description:
        'Only from `needs_review`, and only while no EnKash exchange for the load is in flight or scheduled (else 409 ' +
        "`load_in_flight`); `reversed` also waits until no earlier send can still land. The reason and the key's name are kept in " +
        "the load's events.",
    }),
    OperatedLoad('The load, settled.'),
    ApiBody({
      type: ResolveCardLoadDto,
      examples: {
        'confirmed by EnKash': { value: { outcome: 'posted', reason: 'EnKash support confirmed the credit (ticket 4711)' } },
      },
    }),
    NotInReviewOrInFlight(),
  );

/** POST /v1/card-loads/{id}/requeue */
export const DocRequeueCardLoad = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Queue a load in review for another EnKash lookup',
      description:
        "Re-sent with the same reference only if EnKash shows it absent. Only while the load's job is parked in review: " +
        'a load already queued or in flight answers 409 `load_in_flight`.',
    }),
    OperatedLoad('The load, pending again.'),
    NotInReviewOrInFlight(),
  );

/** POST /v1/card-loads/{id}/undo */
export const DocUndoCardLoad = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Undo a posted load',
      description: 'Appends an opposite posted transfer linked to the original; the posted load itself is never edited.',
    }),
    OperatedLoad('The load, undone.'),
    ApiBody({
      schema: {
        type: 'object',
        required: ['reason'],
        additionalProperties: false,
        properties: { reason: { type: 'string', maxLength: 1000, minLength: 1 } },
      },
      examples: {
        'reversed at EnKash': { value: { reason: `EnKash reversed the credit to ${CARD_LOAD_EXAMPLE.enKashCardId} (ticket 4712)` } },
      },
    }),
    ApiErrorResponse(409, 'The load is not posted.', ['invalid_state', 'card load is posted, not posted']),
  );
