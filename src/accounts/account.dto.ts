import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength, registerDecorator } from 'class-validator';
import { ListQuery, OptionalInstant } from '../common/list-query';
import { isIsoCurrency } from '../common/money';

/** The accounts.code CHECK of the migration: a namespace, a colon, an identifier. */
export const ACCOUNT_CODE = /^[a-z][a-z0-9_]*:[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
export const ACCOUNT_CODE_MESSAGE = 'must be an account code such as external:funding or parent:CABFIPS';

export function IsCurrency() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isCurrency',
      target: target.constructor,
      propertyName,
      validator: { validate: isIsoCurrency, defaultMessage: () => 'must be an ISO 4217 currency code such as INR' },
    });
}

export class CreateAccountDto {
  @ApiProperty({ pattern: ACCOUNT_CODE.source, example: 'external:bank-hdfc', description: 'A namespace, a colon, an identifier.' })
  @IsString()
  @Matches(ACCOUNT_CODE, { message: ACCOUNT_CODE_MESSAGE })
  code: string;

  @ApiProperty({ example: 'INR', description: 'ISO 4217.' })
  @IsCurrency()
  currency: string;

  @ApiProperty({ enum: ['debit', 'credit'], description: 'The side on which the balance grows (assets debit, liabilities credit).' })
  @IsIn(['debit', 'credit'])
  normalSide: 'debit' | 'credit';

  @ApiPropertyOptional({ default: false, description: 'Refuse anything that would take the available balance below zero.' })
  @IsOptional()
  @IsBoolean()
  noOverdraft?: boolean;

  @ApiPropertyOptional({ maxLength: 200, example: 'HDFC current account' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export class ListAccountsQuery extends ListQuery {
  @ApiPropertyOptional({ example: 'INR' })
  @IsOptional()
  @IsCurrency()
  currency?: string;

  /** The namespace before the colon: `card`, `parent`, `external`, ... */
  @ApiPropertyOptional({ example: 'parent', description: 'The part of the code before the colon.' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z][a-z0-9_]{0,49}$/, { message: 'must be an account namespace such as card or parent' })
  namespace?: string;
}

export class AccountQuery {
  @OptionalInstant('2026-03-31T23:59:59Z', 'Balances as they stood at this moment; default now.')
  asOf?: string;
}
