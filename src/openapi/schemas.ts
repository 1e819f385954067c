import type { Type } from '@nestjs/common';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** The list envelope of API.md "Lists" around one item schema: `{"data": [...], "nextCursor": "..." | null}`. */
export function PageOf<T>(item: Type<T>, name: string): Type<{ data: T[]; nextCursor: string | null }> {
  @ApiSchema({ name })
  class Page {
    @ApiProperty({ type: [item] })
    data: T[];

    @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as `cursor` for the next page; null on the last one.' })
    nextCursor: string | null;
  }
  return Page;
}

export const TIME = { type: String, format: 'date-time', example: '2026-03-05T10:03:00.000Z' } as const;
export const NULLABLE_TIME = { ...TIME, nullable: true, example: null } as const;
