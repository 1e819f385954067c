import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse, ApiSchema } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode } from '../common/errors';

@ApiSchema({ name: 'FieldProblem' })
export class ApiFieldProblem {
  @ApiProperty({ example: 'amount', description: 'The field (or header, or `body`) at fault; nested fields are dotted.' })
  field: string;

  @ApiProperty({ example: 'must have at most two decimals' })
  message: string;
}

@ApiSchema({ name: 'ErrorDetail' })
export class ApiErrorDetail {
  @ApiProperty({ enum: ERROR_CODES, example: 'validation_failed', description: 'Machine-readable; stable across releases.' })
  code: ErrorCode;

  @ApiProperty({ example: 'amount: must have at most two decimals', description: 'For people; may change.' })
  message: string;

  @ApiPropertyOptional({ type: [ApiFieldProblem], description: 'Present on `validation_failed`: every problem found, by field.' })
  details?: ApiFieldProblem[];
}

/** The one error shape of the API (API.md "Errors"); every non-2xx answer has it. */
@ApiSchema({ name: 'Error' })
export class ApiErrorBody {
  @ApiProperty({ type: ApiErrorDetail })
  error: ApiErrorDetail;
}

export function errorExample(code: ErrorCode, message: string, details?: Array<{ field: string; message: string }>) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

/** A documented error answer of one route: its status, when it happens, and an example of each code it carries. */
export function ApiErrorResponse(status: number, description: string, ...cases: Array<[code: ErrorCode, message: string]>) {
  const schema = { $ref: '#/components/schemas/Error' };
  const content =
    cases.length === 1
      ? { schema, example: errorExample(cases[0][0], cases[0][1]) }
      : { schema, examples: Object.fromEntries(cases.map(([code, message]) => [code, { value: errorExample(code, message) }])) };
  return applyDecorators(ApiResponse({ status, description, content: { 'application/json': content } }));
}

/** The 404 of a route that reads one thing by id: `thing` names it in the example message. */
export const ApiNotFound = (description: string, thing: string) =>
  ApiErrorResponse(404, description, ['not_found', `${thing} 0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60 not found`]);
