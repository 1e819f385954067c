import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { AMOUNT_OUT } from '../common/money.openapi';
import { ApiJsonOrCsv } from '../openapi/decorators';
import { TIME } from '../openapi/schemas';
import { NotFinalYet, STABLE_PAST } from '../ledger/audit.openapi';

/** Reply shapes of the trial balance, for the OpenAPI document only (trial-balance.view.ts builds them). */
@ApiSchema({ name: 'TrialBalanceAccount' })
class AccountLineDoc {
  @ApiProperty({ example: 'parent:CABFIPS' }) code: string;
  @ApiProperty({ type: String, nullable: true }) name: string | null;
  @ApiProperty({ example: 'INR' }) currency: string;
  @ApiProperty({ enum: ['debit', 'credit'] }) normalSide: string;
  @ApiProperty({ ...AMOUNT_OUT, example: '0.00', description: 'Net posted balance when it is on the debit side, else 0.00.' })
  debitBalance: string;
  @ApiProperty({ ...AMOUNT_OUT, description: 'Net posted balance when it is on the credit side, else 0.00.' }) creditBalance: string;
  @ApiProperty(AMOUNT_OUT) postedDebits: string;
  @ApiProperty(AMOUNT_OUT) postedCredits: string;
  @ApiProperty(AMOUNT_OUT) pendingDebits: string;
  @ApiProperty(AMOUNT_OUT) pendingCredits: string;
}

@ApiSchema({ name: 'TrialBalanceTotal' })
class CurrencyTotalDoc {
  @ApiProperty({ example: 'INR' }) currency: string;
  @ApiProperty(AMOUNT_OUT) debitBalance: string;
  @ApiProperty(AMOUNT_OUT) creditBalance: string;
  @ApiProperty(AMOUNT_OUT) postedDebits: string;
  @ApiProperty(AMOUNT_OUT) postedCredits: string;
  @ApiProperty(AMOUNT_OUT) pendingDebits: string;
  @ApiProperty(AMOUNT_OUT) pendingCredits: string;
  @ApiProperty({ description: 'Debits equal credits in this currency.' }) balanced: boolean;
}

@ApiSchema({ name: 'TrialBalance' })
class TrialBalanceDoc {
  @ApiProperty({ ...TIME, description: 'Fixed into the cursor: every page describes the same moment.' }) asOf: string;
  @ApiProperty({ description: 'Every currency balances.' }) balanced: boolean;
  @ApiProperty({ type: [CurrencyTotalDoc], description: 'Over all accounts, not only this page.' }) totals: CurrencyTotalDoc[];
  @ApiProperty({ type: [AccountLineDoc] }) data: AccountLineDoc[];
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor: string | null;
}

export const DocTrialBalance = () =>
  applyDecorators(
    ApiOperation({
      summary: "Every account's balances and the totals, now or as of a moment",
      description:
        'Debits equal credits. Also CSV (`Accept: text/csv` or `?format=csv`): the account lines, then one `total` line ' +
        'per currency. ' +
        STABLE_PAST,
    }),
    ApiJsonOrCsv(TrialBalanceDoc),
    NotFinalYet(),
  );
