import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';

export class CardBalanceQuery {
  @ApiPropertyOptional({ format: 'date-time', example: '2026-03-31T23:59:59Z', description: 'The balance as it stood at this moment (ISO 8601); default now.' })
  @IsOptional() @IsString()
  asOf?: string;
}
