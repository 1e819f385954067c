import { Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength, ValidateNested,
} from 'class-validator';
import { ACCOUNT_CODE, ACCOUNT_CODE_MESSAGE, IsCurrency } from '../accounts/account.dto';
import { IsAmount, IsMetadata } from '../card-loads/card-load.dto';
import { TimeRangeListQuery } from '../common/list-query';
import { MAX_ENTRIES } from '../ledger/ledger.service';

export class JournalEntryDto {
  @IsString() @Matches(ACCOUNT_CODE, { message: ACCOUNT_CODE_MESSAGE })
  accountCode: string;

  @IsIn(['debit', 'credit'])
  direction: 'debit' | 'credit';

  @IsAmount()
  amount: unknown;

  /** Defaults to the account's currency; when given it must be that currency. */
  @IsOptional() @IsCurrency()
  currency?: string;
}

export class CreateJournalDto {
  @IsString() @MaxLength(500) @Matches(/\S/, { message: 'must not be empty' })
  description: string;

  @IsArray() @ArrayMinSize(2) @ArrayMaxSize(MAX_ENTRIES) @ValidateNested({ each: true }) @Type(() => JournalEntryDto)
  entries: JournalEntryDto[];

  @IsOptional() @IsObject() @IsMetadata()
  metadata?: Record<string, string>;
}

export const TRANSFER_KINDS = ['pending', 'post_pending', 'void_pending', 'posted'] as const;

export class ListJournalQuery extends TimeRangeListQuery {
  @IsOptional() @IsIn(TRANSFER_KINDS as unknown as string[])
  kind?: (typeof TRANSFER_KINDS)[number];
}
