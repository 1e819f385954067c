import { IsOptional, IsString } from 'class-validator';
import { ListQuery } from '../common/list-query';

export class TrialBalanceQuery extends ListQuery {
  @IsOptional() @IsString()
  asOf?: string;
}
