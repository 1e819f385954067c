import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { AMOUNT_OUT } from '../common/money.openapi';
import { ApiJsonOrCsv } from '../openapi/decorators';
import { ApiErrorResponse } from '../openapi/error.schema';
import { PageOf, TIME } from '../openapi/schemas';
import { ACCOUNT_CODE, CreateAccountDto } from './account.dto';
import { NotFinalYet, STABLE_PAST } from '../ledger/audit.openapi';

/** Reply shapes of the account routes, for the OpenAPI document only (account.view.ts builds them). */
@ApiSchema({ name: 'Account' })
class AccountDoc {
  @ApiProperty({ example: 'parent:CABFIPS' }) code: string;
  @ApiProperty({ type: String, nullable: true, example: 'EnKash parent card account CABFIPS' }) name: string | null;
  @ApiProperty({ example: 'INR' }) currency: string;
  @ApiProperty({ enum: ['debit', 'credit'] }) normalSide: 'debit' | 'credit';
  @ApiProperty({ description: 'Available balance may never go below zero.' }) noOverdraft: boolean;
  @ApiProperty(TIME) createdAt: string;
  @ApiProperty({ ...AMOUNT_OUT, description: 'On the normal side: posted credits - posted debits for a credit-normal account.' })
  posted: string;
  @ApiProperty({ ...AMOUNT_OUT, description: 'Pending movements on the normal side.' }) pending: string;
  @ApiProperty({ ...AMOUNT_OUT, description: 'Posted minus pending outflows: what the account may still pay out.' }) available: string;
  @ApiProperty(AMOUNT_OUT) postedDebits: string;
  @ApiProperty(AMOUNT_OUT) postedCredits: string;
  @ApiProperty(AMOUNT_OUT) pendingDebits: string;
  @ApiProperty(AMOUNT_OUT) pendingCredits: string;
}

@ApiSchema({ name: 'AccountAsOf' })
class AccountAsOfDoc extends AccountDoc {
  @ApiProperty({ ...TIME, description: 'The moment the balances are of: `asOf` as asked, or now.' }) asOf: string;
}

@ApiSchema({ name: 'AccountEntry' })
class EntryDoc {
  @ApiProperty({ example: '1042' }) id: string;
  @ApiProperty({ format: 'uuid' }) transactionId: string;
  @ApiProperty({
    enum: ['pending', 'post_pending', 'void_pending', 'posted'],
    description: 'Reserved (pending), settled, released, or posted directly.',
  })
  kind: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The pending transfer this one settles or releases.' })
  pendingId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The posted transfer this one undoes.' }) undoesId:
    string | null;
  @ApiProperty({ enum: ['debit', 'credit'] }) direction: string;
  @ApiProperty(AMOUNT_OUT) amount: string;
  @ApiProperty({ example: 'INR' }) currency: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty(TIME) createdAt: string;
}

const CODE_PARAM = ApiParam({ name: 'code', schema: { type: 'string', pattern: ACCOUNT_CODE.source }, example: 'parent:CABFIPS' });
const NOT_FOUND = ApiErrorResponse(404, 'No such account (or it did not exist yet at `asOf`).', [
  'not_found',
  'account parent:CABFIPS not found',
]);

export const DocCreateAccount = () =>
  applyDecorators(
    ApiOperation({ summary: 'Open an account' }),
    ApiBody({
      type: CreateAccountDto,
      examples: {
        'a funding source': { value: { code: 'external:bank-hdfc', currency: 'INR', normalSide: 'debit', name: 'HDFC current account' } },
      },
    }),
    ApiCreatedResponse({ type: AccountDoc }),
    ApiErrorResponse(409, 'An account with this code exists.', ['conflict', 'account external:bank-hdfc already exists']),
  );

export const DocListAccounts = () =>
  applyDecorators(
    ApiOperation({ summary: 'List accounts with their balances', description: 'Also CSV (`Accept: text/csv` or `?format=csv`).' }),
    ApiJsonOrCsv(PageOf(AccountDoc, 'AccountPage')),
  );

export const DocGetAccount = () =>
  applyDecorators(
    ApiOperation({ summary: 'An account and its balances, now or as of a moment', description: STABLE_PAST }),
    CODE_PARAM,
    ApiOkResponse({ type: AccountAsOfDoc }),
    NOT_FOUND,
    NotFinalYet(),
  );

export const DocAccountEntries = () =>
  applyDecorators(
    ApiOperation({
      summary: 'The journal entries of an account',
      description: `Also CSV (\`Accept: text/csv\` or \`?format=csv\`). ${STABLE_PAST}`,
    }),
    CODE_PARAM,
    ApiJsonOrCsv(PageOf(EntryDoc, 'AccountEntryPage')),
    NOT_FOUND,
    NotFinalYet(),
  );
