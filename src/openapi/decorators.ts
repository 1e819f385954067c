import { applyDecorators, Type } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiProduces } from '@nestjs/swagger';

/** A path parameter holding a uuid (`id` unless named otherwise). */
export const ApiUuidParam = (name = 'id') => ApiParam({ name, format: 'uuid' });

/**
 * The 200 of a read that also answers CSV (`Accept: text/csv` or `?format=csv`): `type` is the JSON answer; the CSV
 * is documented as text (openapi.ts, csvAsText).
 */
export const ApiJsonOrCsv = (type: Type, description?: string) =>
  applyDecorators(ApiProduces('application/json', 'text/csv'), ApiOkResponse({ type, description }));
