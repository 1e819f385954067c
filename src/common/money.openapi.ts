import type { ApiPropertyOptions } from '@nestjs/swagger';

/** How amounts look on the wire (API.md "Conventions"): requests may also send a JSON number with at most two decimals. */
export const AMOUNT_SCHEMA: ApiPropertyOptions = {
  oneOf: [
    { type: 'string', pattern: '^\\d{1,15}(\\.\\d{1,2})?$', example: '1500.00' },
    { type: 'number', multipleOf: 0.01, exclusiveMinimum: true, minimum: 0, example: 1500 },
  ],
  example: '1500.00',
  description: 'Rupees as a decimal string with at most two fraction digits (or a JSON number with at most two decimals); '
    + 'more than zero and at most MAX_LOAD_AMOUNT. Exponents, three decimals and numbers beyond 2^53 are refused.',
};

/** An amount in a reply: always a string with exactly two fraction digits; negative when money went out. */
export const AMOUNT_OUT: ApiPropertyOptions = { type: String, pattern: '^-?\\d+\\.\\d{2}$', example: '1500.00' };

export const METADATA_SCHEMA: ApiPropertyOptions = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 500 },
  maxProperties: 20,
  example: { invoiceId: 'INV-9' },
  description: 'At most 20 string values; keys 1-64 of A-Za-z0-9_.-.',
};
