import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { CARD_ID } from '../card-loads/card-load.dto';
import { AMOUNT_OUT } from '../common/money.openapi';
import { ApiJsonOrCsv } from '../openapi/decorators';
import { ApiErrorResponse } from '../openapi/error.schema';
import { PageOf, TIME } from '../openapi/schemas';
import { NotFinalYet, STABLE_PAST } from '../ledger/audit.openapi';

/** Reply shapes of the card routes, for the OpenAPI document only (cards.service.ts and card-history.view.ts build them). */
@ApiSchema({ name: 'CardBalance' })
class CardBalanceDoc {
  @ApiProperty({ example: 'EKCMB7KAEW' }) enKashCardId: string;
  @ApiProperty({ example: 'INR' }) currency: string;
  @ApiProperty({ ...AMOUNT_OUT, description: 'Settled with EnKash.' }) posted: string;
  @ApiProperty({ ...AMOUNT_OUT, example: '250.00', description: 'Accepted, not yet settled.' }) pending: string;
  @ApiProperty({ ...TIME, description: 'The moment these balances describe (now, or the `asOf` asked for).' }) asOf: string;
}

@ApiSchema({ name: 'CardHistoryRow' })
class CardHistoryRowDoc {
  @ApiProperty({ example: 3, description: 'Per-card sequence: 0 is the opening row, then +1 per change, no gaps.' }) seq: number;
  @ApiProperty(TIME) at: string;
  @ApiProperty({ enum: ['opening', 'load_pending', 'load_posted', 'load_reversed', 'load_undone', 'journal'], example: 'load_posted' })
  event: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) loadId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) journalTransactionId: string | null;
  @ApiProperty({ ...AMOUNT_OUT, description: 'The movement: posted when posted money moved, else pending (negative when released).' })
  amount: string;
  @ApiProperty({ ...AMOUNT_OUT, example: '0.00' }) pendingBalance: string;
  @ApiProperty(AMOUNT_OUT) postedBalance: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
}

@ApiSchema({ name: 'CardBalancePoint' })
class CardBalancePointDoc {
  @ApiProperty({ example: 3, description: 'The history row this point is.' }) seq: number;
  @ApiProperty(TIME) at: string;
  @ApiProperty({ ...AMOUNT_OUT, example: '0.00' }) pendingBalance: string;
  @ApiProperty(AMOUNT_OUT) postedBalance: string;
}

@ApiSchema({ name: 'CardBalanceSeries' })
class CardBalanceSeriesDoc {
  @ApiProperty({ example: 'EKCMB7KAEW' }) enKashCardId: string;
  @ApiProperty({ example: 'INR' }) currency: string;
  @ApiProperty({ ...TIME, description: "Window start (inclusive): the `from` asked for, else the card's opening." }) from: string;
  @ApiProperty({ ...TIME, description: 'Window end (exclusive): the `to` asked for, else now.' }) to: string;
  @ApiProperty({ type: 'integer', example: 500 }) buckets: number;
  @ApiProperty({
    enum: ['m4'],
    description: 'How rows were kept: per bucket the first, the last, and the lowest and highest of each balance.',
  })
  rule: string;

  @ApiProperty({
    type: 'integer',
    example: 100001,
    description: 'History rows in the window (the opening row included), before downsampling.',
  })
  historyRows: number;

  @ApiProperty({
    type: [CardBalancePointDoc],
    description:
      'Kept rows in seq order; first, the row in force at `from` when one precedes it. ' + 'None for a window before the card existed.',
  })
  points: CardBalancePointDoc[];
}

const CARD_PARAM = ApiParam({ name: 'enKashCardId', schema: { type: 'string', pattern: CARD_ID.source }, example: 'EKCMB7KAEW' });
const CARD_NOT_FOUND = (extra: string) => ApiErrorResponse(404, `No such card${extra}.`, ['not_found', 'card EKCMB7KAEW not found']);

/** GET /v1/cards/{enKashCardId}/balance */
export const DocCardBalance = () =>
  applyDecorators(
    ApiOperation({ summary: "A card's posted and pending balance, now or as of a moment", description: STABLE_PAST }),
    CARD_PARAM,
    ApiOkResponse({ type: CardBalanceDoc }),
    NotFinalYet(),
    CARD_NOT_FOUND(', or `asOf` is before the card existed'),
  );

/** GET /v1/cards/{enKashCardId}/history */
export const DocCardHistory = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Every balance change of a card',
      description:
        'Oldest first, one row per change. ' +
        'Also CSV (`Accept: text/csv` or `?format=csv`). ' +
        `${STABLE_PAST} To roll a balance forward: \`balance(asOf=T)\` + the rows \`from=T+1ms\`.`,
    }),
    NotFinalYet(),
    CARD_PARAM,
    ApiJsonOrCsv(PageOf(CardHistoryRowDoc, 'CardHistoryPage')),
    CARD_NOT_FOUND(''),
  );

/** GET /v1/cards/{enKashCardId}/balance-series */
export const DocCardBalanceSeries = () =>
  applyDecorators(
    ApiOperation({
      summary: "A card's balances over a window, downsampled for a chart",
      description:
        'The window is cut into `buckets` equal time buckets; of each, the rows with the first and last change and the lowest ' +
        'and highest pending and posted balance are kept (M4): drawn one bucket per pixel, the line is the line through every row. ' +
        "A window with few rows comes back whole. The balances are the history rows' own.",
    }),
    CARD_PARAM,
    ApiOkResponse({ type: CardBalanceSeriesDoc }),
    CARD_NOT_FOUND(''),
  );
