import {
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  registerDecorator,
  ValidateIf,
  ValidationArguments,
} from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ListQuery, OptionalInstant } from '../common/list-query';
import { AMOUNT_SCHEMA, METADATA_SCHEMA } from '../common/money.openapi';
import { IsMetadata, metadataProblem } from '../common/metadata';
import { parseAmountMinor } from '../common/money';

export const CARD_ID = /^EKC[A-Z0-9]{7}$/;
export const CARD_ID_MESSAGE = 'must be an EnKash card id: EKC followed by 7 upper-case letters or digits';
export const COMPANY_ID = /^CEK[A-Z0-9]{7}$/;
export const CARD_ACCOUNT_ID = /^CA[A-Z0-9]{1,30}$/;
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_\-.:]{1,255}$/;

/** A decimal string or a JSON number with at most two decimals; see parseAmountMinor. */
export function IsAmount() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isAmount',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (v: unknown) => parseAmountMinor(v).ok,
        defaultMessage: (a: ValidationArguments) => {
          const r = parseAmountMinor(a.value);
          return r.ok ? 'is invalid' : r.message;
        },
      },
    });
}

export class CreateCardLoadDto {
  @ApiProperty({ pattern: CARD_ID.source, example: 'EKCMB7KAEW', description: 'The EnKash card to load.' })
  @IsString()
  @Matches(CARD_ID, { message: CARD_ID_MESSAGE })
  enKashCardId: string;

  @ApiProperty(AMOUNT_SCHEMA)
  @IsAmount()
  amount: unknown;

  @ApiPropertyOptional({ enum: ['INR'], default: 'INR' })
  @IsOptional()
  @IsIn(['INR'], { message: 'must be INR, the only currency EnKash loads' })
  currency?: string;

  @ApiPropertyOptional({ pattern: COMPANY_ID.source, example: 'CEKEP5GSGP', description: 'Default: ENKASH_COMPANY_ID.' })
  @IsOptional()
  @IsString()
  @Matches(COMPANY_ID, { message: 'must be an EnKash company id: CEK followed by 7 upper-case letters or digits' })
  companyId?: string;

  @ApiPropertyOptional({
    pattern: CARD_ACCOUNT_ID.source,
    example: 'CABFIPS',
    description: 'The parent card account funding the load. Default: ENKASH_CARD_ACCOUNT_ID.',
  })
  @IsOptional()
  @IsString()
  @Matches(CARD_ACCOUNT_ID, { message: 'must be an EnKash card account id: CA followed by upper-case letters or digits' })
  cardAccountId?: string;

  @ApiPropertyOptional({ maxLength: 255, example: 'March meal allowance', description: 'Sent to EnKash.' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  description?: string;

  @ApiPropertyOptional({ maxLength: 255, example: 'batch 42', description: 'Sent to EnKash.' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  remarks?: string;

  @ApiPropertyOptional(METADATA_SCHEMA)
  @IsOptional()
  @IsObject()
  @IsMetadata()
  metadata?: Record<string, string>;
}

const optional = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || ok(v);
const matching = (re: RegExp) => (v: unknown) => typeof v === 'string' && re.test(v);
const shortText = (v: unknown) => typeof v === 'string' && v.length <= 255;
/** Every field the DTO knows, each with the same rule its decorators hold it to. */
const LOAD_FIELD_RULES: Record<keyof CreateCardLoadDto, (v: unknown) => boolean> = {
  enKashCardId: matching(CARD_ID),
  amount: (v) => parseAmountMinor(v).ok,
  currency: (v) => optional(v, (x) => x === 'INR'),
  companyId: (v) => optional(v, matching(COMPANY_ID)),
  cardAccountId: (v) => optional(v, matching(CARD_ACCOUNT_ID)),
  description: (v) => optional(v, shortText),
  remarks: (v) => optional(v, shortText),
  metadata: (v) => optional(v, (x) => metadataProblem(x) === null),
};

/**
 * The decorators' verdict on a plain object, about a hundred times faster than class-validator: bulk intake
 * checks 1,000 loads a request this way and asks class-validator only about items that fail here, so error
 * messages are the single-load endpoint's, word for word. Never more lenient than the decorators (the
 * batch tests hold the two to the same verdicts); a stricter answer only costs a class-validator call.
 */
export function isValidLoad(v: Record<string, unknown>): boolean {
  for (const k in v) if (!Object.prototype.hasOwnProperty.call(LOAD_FIELD_RULES, k)) return false;
  for (const [k, rule] of Object.entries(LOAD_FIELD_RULES)) if (!rule(v[k])) return false;
  return true;
}

export const LOAD_STATUSES = ['pending', 'posted', 'reversed', 'needs_review'] as const;
export type LoadStatus = (typeof LOAD_STATUSES)[number];

export class ListCardLoadsQuery extends ListQuery {
  @ApiPropertyOptional({ enum: LOAD_STATUSES })
  @IsOptional()
  @IsIn(LOAD_STATUSES)
  status?: LoadStatus;

  @ApiPropertyOptional({ pattern: CARD_ID.source, example: 'EKCMB7KAEW' })
  @IsOptional()
  @IsString()
  @Matches(CARD_ID, { message: CARD_ID_MESSAGE })
  enKashCardId?: string;

  @OptionalInstant('2026-03-01T00:00:00Z', 'Created at or after (inclusive).')
  createdFrom?: string;

  @OptionalInstant('2026-04-01T00:00:00Z', 'Created before (exclusive).')
  createdTo?: string;

  @ApiPropertyOptional({
    enum: ['desc', 'asc'],
    default: 'desc',
    description: '`desc`: newest first (the default); `asc`: oldest first (a review queue).',
  })
  @IsOptional()
  @IsIn(['desc', 'asc'])
  order?: 'desc' | 'asc';
}

export class ResolveCardLoadDto {
  @ApiProperty({
    enum: ['posted', 'reversed'],
    example: 'posted',
    description: 'What EnKash did with the load, as established by the operator.',
  })
  @IsIn(['posted', 'reversed'])
  outcome: 'posted' | 'reversed';

  @ApiProperty({
    maxLength: 1000,
    example: 'EnKash support confirmed the credit (ticket 4711)',
    description: "Kept in the load's events with the key's name.",
  })
  @IsString()
  @ValidateIf(() => true)
  @MaxLength(1000)
  @Matches(/\S/, { message: 'must not be empty' })
  reason: string;
}
