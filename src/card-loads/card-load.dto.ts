import {
  IsIn, IsObject, IsOptional, IsString, Matches, MaxLength, registerDecorator, ValidateIf, ValidationArguments,
} from 'class-validator';
import { parseAmountMinor } from '../common/money';

export const CARD_ID = /^EKC[A-Z0-9]{7}$/;
export const COMPANY_ID = /^CEK[A-Z0-9]{7}$/;
export const CARD_ACCOUNT_ID = /^CA[A-Z0-9]{1,30}$/;
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_\-.:]{1,255}$/;

/** A decimal string or a JSON number with at most two decimals; see parseAmountMinor. */
export function IsAmount() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isAmount', target: target.constructor, propertyName,
      validator: {
        validate: (v: unknown) => parseAmountMinor(v).ok,
        defaultMessage: (a: ValidationArguments) => {
          const r = parseAmountMinor(a.value);
          return r.ok ? 'is invalid' : r.message;
        },
      },
    });
}

/** At most 20 string pairs, short keys, bounded values. */
export function IsMetadata() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isMetadata', target: target.constructor, propertyName,
      validator: {
        validate: (v: unknown) =>
          typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length <= 20 &&
          Object.entries(v).every(([k, val]) => /^[A-Za-z0-9_.\-]{1,64}$/.test(k) && typeof val === 'string' && val.length <= 500),
        defaultMessage: () => 'must be an object of at most 20 string values (keys 1-64 of A-Za-z0-9_.-, values up to 500 chars)',
      },
    });
}

export class CreateCardLoadDto {
  @IsString() @Matches(CARD_ID, { message: 'must be an EnKash card id: EKC followed by 7 upper-case letters or digits' })
  enKashCardId: string;

  @IsAmount()
  amount: unknown;

  @IsOptional() @IsIn(['INR'], { message: 'must be INR, the only currency EnKash loads' })
  currency?: string;

  @IsOptional() @IsString() @Matches(COMPANY_ID, { message: 'must be an EnKash company id: CEK followed by 7 upper-case letters or digits' })
  companyId?: string;

  @IsOptional() @IsString() @Matches(CARD_ACCOUNT_ID, { message: 'must be an EnKash card account id: CA followed by upper-case letters or digits' })
  cardAccountId?: string;

  @IsOptional() @IsString() @MaxLength(255)
  description?: string;

  @IsOptional() @IsString() @MaxLength(255)
  remarks?: string;

  @IsOptional() @IsObject() @IsMetadata()
  metadata?: Record<string, string>;
}

export const LOAD_STATUSES = ['pending', 'posted', 'reversed', 'needs_review'] as const;
export type LoadStatus = (typeof LOAD_STATUSES)[number];

export class ListCardLoadsQuery {
  @IsOptional() @IsIn(LOAD_STATUSES as unknown as string[])
  status?: LoadStatus;

  @IsOptional() @IsString() @Matches(CARD_ID, { message: 'must be an EnKash card id: EKC followed by 7 upper-case letters or digits' })
  enKashCardId?: string;

  @IsOptional() @IsString()
  createdFrom?: string;

  @IsOptional() @IsString()
  createdTo?: string;

  @IsOptional() @IsString()
  limit?: string;

  @IsOptional() @IsString()
  cursor?: string;

  @IsOptional() @IsIn(['json', 'csv'])
  format?: string;
}

export class ResolveCardLoadDto {
  @IsIn(['posted', 'reversed'])
  outcome: 'posted' | 'reversed';

  @IsString() @ValidateIf(() => true) @MaxLength(1000) @Matches(/\S/, { message: 'must not be empty' })
  reason: string;
}
