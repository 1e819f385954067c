import { IsOptional, IsString } from 'class-validator';
import { TimeRangeListQuery } from '../common/list-query';

/** `from`/`to` select loads by creation time and findings by the time they were found; `runId` one run's findings. */
export class ReconciliationQuery extends TimeRangeListQuery {
  @IsOptional() @IsString()
  runId?: string;
}
