import { IsOptional, IsString } from 'class-validator';

export class CardBalanceQuery {
  @IsOptional() @IsString()
  asOf?: string;
}
