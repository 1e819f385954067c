import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { OptionalInstant, TimeRangeListQuery } from '../common/list-query';

export class CardBalanceQuery {
  @OptionalInstant('2026-03-31T23:59:59Z', 'The balance as it stood at this moment (ISO 8601); default now.')
  asOf?: string;
}

export const HISTORY_ORDERS = ['asc', 'desc'] as const;

export class CardHistoryQuery extends TimeRangeListQuery {
  @ApiPropertyOptional({ enum: HISTORY_ORDERS, default: 'asc', description: '`asc`: oldest first (the default); `desc`: newest first.' })
  @IsOptional()
  @IsIn(HISTORY_ORDERS)
  order?: (typeof HISTORY_ORDERS)[number];

  @ApiPropertyOptional({ type: 'integer', minimum: 0, example: 120, description: 'Rows with `seq` at or above this (inclusive).' })
  @IsOptional()
  @IsString()
  seqFrom?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, example: 170, description: 'Rows with `seq` below this (exclusive).' })
  @IsOptional()
  @IsString()
  seqTo?: string;
}

/** Points per series answer: enough for any screen's width, bounded work per request. */
export const SERIES_MAX_BUCKETS = 2000;

export class CardSeriesQuery {
  @OptionalInstant('2026-03-01T00:00:00Z', "Window start (inclusive); default the card's opening.")
  from?: string;

  @OptionalInstant('2026-04-01T00:00:00Z', 'Window end (exclusive); default now.')
  to?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: SERIES_MAX_BUCKETS,
    default: 500,
    description: "Equal time buckets the window is cut into: about the chart's width in pixels.",
  })
  @IsOptional()
  @IsString()
  buckets?: string;
}
