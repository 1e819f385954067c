import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';

export const LIMIT_SCHEMA: ApiPropertyOptions = { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'Page size.' };
export const CURSOR_SCHEMA: ApiPropertyOptions = { type: String, description: 'Opaque: the `nextCursor` of the previous page.' };
export const FORMAT_SCHEMA: ApiPropertyOptions = {
  enum: ['json', 'csv'],
  default: 'json',
  description: '`csv` streams every page as CSV (same as `Accept: text/csv`).',
};

/**
 * An optional time in the query string (ISO 8601). Only its type is checked here: the service parses it
 * (parseInstant, parseRange) so that a bad one is a 400 naming the field (docs/time.md).
 */
export const OptionalInstant = (example: string, description: string) =>
  applyDecorators(ApiPropertyOptional({ format: 'date-time', example, description }), IsOptional(), IsString());

/** Paging parameters every list takes (API.md "Lists"). */
export class PageQuery {
  @ApiPropertyOptional(LIMIT_SCHEMA)
  @IsOptional()
  @IsString()
  limit?: string;

  @ApiPropertyOptional(CURSOR_SCHEMA)
  @IsOptional()
  @IsString()
  cursor?: string;
}

/** Paging and export parameters every auditor list takes (API.md "Lists", "CSV"). */
export class ListQuery extends PageQuery {
  @ApiPropertyOptional(FORMAT_SCHEMA)
  @IsOptional()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
}

export class TimeRangeListQuery extends ListQuery {
  @OptionalInstant('2026-03-01T00:00:00Z', 'At or after (inclusive), ISO 8601.')
  from?: string;

  @OptionalInstant('2026-04-01T00:00:00Z', 'Before (exclusive), ISO 8601.')
  to?: string;
}
