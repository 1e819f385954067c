import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { ListQuery } from '../common/list-query';

export class TrialBalanceQuery extends ListQuery {
  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-03-31T23:59:59Z',
    description: 'The balances as they stood at this moment; default now.',
  })
  @IsOptional()
  @IsString()
  asOf?: string;
}
