import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IDEMPOTENCY_KEY } from '../card-loads/card-load.dto';
import { AMOUNT_OUT, METADATA_SCHEMA } from '../common/money.openapi';
import { ApiJsonOrCsv, ApiUuidParam } from '../openapi/decorators';
import { ApiErrorResponse, ApiNotFound } from '../openapi/error.schema';
import { PageOf, TIME } from '../openapi/schemas';
import { CreateJournalDto, TRANSFER_KINDS } from './journal.dto';
import { Archived, NotFinalYet, STABLE_PAST } from '../ledger/audit.openapi';

/** Reply shapes of the journal routes, for the OpenAPI document only (journal.view.ts builds them). */
@ApiSchema({ name: 'JournalLine' })
class JournalLineDoc {
  @ApiProperty({ example: 'parent:CABFIPS' }) accountCode: string;
  @ApiProperty({ enum: ['debit', 'credit'] }) direction: string;
  @ApiProperty(AMOUNT_OUT) amount: string;
  @ApiProperty({ example: 'INR' }) currency: string;
}

@ApiSchema({ name: 'JournalSeal' })
class SealDoc {
  @ApiProperty({ example: 42, description: 'Position in the hash chain.' }) seq: number;
  @ApiProperty({ example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', description: 'SHA-256, hex.' }) hash: string;
}

@ApiSchema({ name: 'JournalTransaction' })
class JournalDoc {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: TRANSFER_KINDS }) kind: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) pendingId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) undoesId: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Funding CABFIPS for March' }) description: string | null;
  @ApiProperty(METADATA_SCHEMA) metadata: Record<string, string>;
  @ApiProperty(TIME) createdAt: string;
  @ApiProperty({ type: [JournalLineDoc] }) entries: JournalLineDoc[];
  @ApiProperty({ type: SealDoc, nullable: true, description: 'Null until the background sealer has chained it.' }) seal: SealDoc | null;
}

const FUNDING_EXAMPLE = {
  description: 'Funding CABFIPS for March',
  entries: [
    { accountCode: 'external:funding', direction: 'debit', amount: '100000.00' },
    { accountCode: 'parent:CABFIPS', direction: 'credit', amount: '100000.00' },
  ],
  metadata: { transferRef: 'NEFT-77' },
};

export const DocPostJournal = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Post a balanced manual journal transaction',
      description: 'E.g. funding a parent card account. Debits must equal credits per currency.',
    }),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: 'Optional; a retry with the same key and body never posts twice.',
      schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
    }),
    ApiBody({ type: CreateJournalDto, examples: { 'funding a parent account': { value: FUNDING_EXAMPLE } } }),
    ApiCreatedResponse({ type: JournalDoc }),
    ApiOkResponse({ type: JournalDoc, description: 'A replay of the same Idempotency-Key and body (header `Idempotent-Replayed: true`).' }),
    ApiErrorResponse(409, 'The Idempotency-Key was used with another transaction.', [
      'idempotency_key_reused',
      'this Idempotency-Key was already used with a different journal transaction',
    ]),
    ApiErrorResponse(
      422,
      "An account flagged noOverdraft would go below zero, or an account's totals would pass what the ledger can record.",
      ['insufficient_funds', 'account parent:CABFIPS has insufficient available balance'],
      ['amount_out_of_range', "this transaction would take an account's totals beyond what the ledger can record"],
    ),
  );

export const DocListJournal = () =>
  applyDecorators(
    ApiOperation({
      summary: 'List journal transactions',
      description:
        'Also CSV, one line per entry (`Accept: text/csv` or `?format=csv`). ' +
        `${STABLE_PAST} Every page stops at a final moment, so a transaction committed later is never skipped by a cursor.`,
    }),
    ApiJsonOrCsv(PageOf(JournalDoc, 'JournalPage')),
    NotFinalYet(),
  );

export const DocGetJournal = () =>
  applyDecorators(
    ApiOperation({ summary: 'One journal transaction with its entries and seal' }),
    ApiUuidParam(),
    ApiOkResponse({ type: JournalDoc }),
    ApiNotFound('No such transaction.', 'journal transaction'),
    Archived(),
  );
