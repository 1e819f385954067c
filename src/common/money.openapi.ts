import type { ApiPropertyOptions } from '@nestjs/swagger';
import { METADATA_LIMITS } from './metadata';

/** How amounts look on the wire (API.md "Conventions"): requests may also send a JSON number with at most two decimals. */
const amountSchema = (max: string): ApiPropertyOptions => ({
  oneOf: [
    { type: 'string', pattern: '^(0|[1-9]\\d{0,13})\\.\\d{2}$', example: '1500.00' },
    { type: 'number', multipleOf: 0.01, exclusiveMinimum: true, minimum: 0, example: 1500 },
  ],
  example: '1500.00',
  description:
    'Rupees as a decimal string with exactly two fraction digits ("1500.00"; "1500" and "1500.0" are refused), ' +
    `or a JSON number with at most two decimals (1500, 1500.5); more than zero and at most ${max}. ` +
    'Exponents, three decimals and numbers beyond 2^53 are refused.',
});

export const AMOUNT_SCHEMA = amountSchema('MAX_LOAD_AMOUNT');
/** A manual journal entry: funding a parent account is one entry, so its cap is its own. */
export const JOURNAL_AMOUNT_SCHEMA = amountSchema('MAX_JOURNAL_AMOUNT');

/** An amount in a reply: always a string with exactly two fraction digits; negative when money went out. */
export const AMOUNT_OUT: ApiPropertyOptions = { type: String, pattern: '^-?\\d+\\.\\d{2}$', example: '1500.00' };

export const METADATA_SCHEMA: ApiPropertyOptions = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: METADATA_LIMITS.valueChars },
  maxProperties: METADATA_LIMITS.keys,
  example: { invoiceId: 'INV-9' },
  description:
    `At most ${METADATA_LIMITS.keys} string values; keys 1-${METADATA_LIMITS.keyChars} of A-Za-z0-9_.-, values up to ` +
    `${METADATA_LIMITS.valueChars} characters, ${METADATA_LIMITS.totalBytes} bytes (UTF-8) of keys and values in all.`,
};
