import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsObject, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import { ACCOUNT_CODE, ACCOUNT_CODE_MESSAGE, IsCurrency } from '../accounts/account.dto';
import { IsAmount } from '../card-loads/card-load.dto';
import { IsMetadata } from '../common/metadata';
import { TimeRangeListQuery } from '../common/list-query';
import { NonBlankText } from '../common/text-field';
import { JOURNAL_AMOUNT_SCHEMA, METADATA_SCHEMA } from '../common/money.openapi';
import { MAX_ENTRIES } from '../ledger/ledger.service';

export class JournalEntryDto {
  @ApiProperty({ pattern: ACCOUNT_CODE.source, example: 'parent:CABFIPS' })
  @IsString()
  @Matches(ACCOUNT_CODE, { message: ACCOUNT_CODE_MESSAGE })
  accountCode: string;

  @ApiProperty({ enum: ['debit', 'credit'] })
  @IsIn(['debit', 'credit'])
  direction: 'debit' | 'credit';

  @ApiProperty(JOURNAL_AMOUNT_SCHEMA)
  @IsAmount()
  amount: unknown;

  /** Defaults to the account's currency; when given it must be that currency. */
  @ApiPropertyOptional({ example: 'INR', description: "Default: the account's currency; when given it must be that currency." })
  @IsOptional()
  @IsCurrency()
  currency?: string;
}

export class CreateJournalDto {
  @NonBlankText(500, { example: 'Funding CABFIPS for March' })
  description: string;

  @ApiProperty({ type: [JournalEntryDto], minItems: 2, maxItems: MAX_ENTRIES, description: 'Debits must equal credits per currency.' })
  @IsArray()
  @ArrayMinSize(2)
  @ArrayMaxSize(MAX_ENTRIES)
  @ValidateNested({ each: true })
  @Type(() => JournalEntryDto)
  entries: JournalEntryDto[];

  @ApiPropertyOptional(METADATA_SCHEMA)
  @IsOptional()
  @IsObject()
  @IsMetadata()
  metadata?: Record<string, string>;
}

export const TRANSFER_KINDS = ['pending', 'post_pending', 'void_pending', 'posted'] as const;

export class ListJournalQuery extends TimeRangeListQuery {
  @ApiPropertyOptional({ enum: TRANSFER_KINDS })
  @IsOptional()
  @IsIn(TRANSFER_KINDS)
  kind?: (typeof TRANSFER_KINDS)[number];

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Only the transactions this card load made: its pending transfer, the post or void of it, an undo.',
  })
  @IsOptional()
  @IsString()
  loadId?: string;
}
