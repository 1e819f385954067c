import { IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength, registerDecorator } from 'class-validator';
import { ListQuery } from '../common/list-query';
import { isIsoCurrency } from '../common/money';

/** The accounts.code CHECK of the migration: a namespace, a colon, an identifier. */
export const ACCOUNT_CODE = /^[a-z][a-z0-9_]*:[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
export const ACCOUNT_CODE_MESSAGE = 'must be an account code such as external:funding or parent:CABFIPS';

export function IsCurrency() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isCurrency', target: target.constructor, propertyName,
      validator: { validate: isIsoCurrency, defaultMessage: () => 'must be an ISO 4217 currency code such as INR' },
    });
}

export class CreateAccountDto {
  @IsString() @Matches(ACCOUNT_CODE, { message: ACCOUNT_CODE_MESSAGE })
  code: string;

  @IsCurrency()
  currency: string;

  @IsIn(['debit', 'credit'])
  normalSide: 'debit' | 'credit';

  @IsOptional() @IsBoolean()
  noOverdraft?: boolean;

  @IsOptional() @IsString() @MaxLength(200)
  name?: string;
}

export class ListAccountsQuery extends ListQuery {
  @IsOptional() @IsCurrency()
  currency?: string;

  /** The namespace before the colon: `card`, `parent`, `external`, ... */
  @IsOptional() @IsString() @Matches(/^[a-z][a-z0-9_]{0,49}$/, { message: 'must be an account namespace such as card or parent' })
  namespace?: string;
}

export class AccountQuery {
  @IsOptional() @IsString()
  asOf?: string;
}
