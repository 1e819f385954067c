import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { TimeRangeListQuery } from '../common/list-query';
import { AUDIT_ACTIONS } from './audit-trail';

export class ListAuditEventsQuery extends TimeRangeListQuery {
  @ApiPropertyOptional({ enum: AUDIT_ACTIONS, description: 'Only this action.' })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS)
  action?: string;

  @ApiPropertyOptional({
    maxLength: 200,
    example: '0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60',
    description: 'Only actions on this thing: an API key, a webhook subscription, a card load or a reconciliation run, by id.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^\S+$/, { message: 'must be an id, without spaces' })
  subject?: string;
}
