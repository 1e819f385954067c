import { IsOptional, IsString } from 'class-validator';
import { PageQuery, TimeRangeListQuery } from '../common/list-query';

/** `from`/`to` select loads by creation time and findings by the time they were found; `runId` one run's findings. */
export class ReconciliationQuery extends TimeRangeListQuery {
  @IsOptional()
  @IsString()
  runId?: string;
}

/** The runs, newest first: just the paging parameters. */
export class ReconciliationRunsQuery extends PageQuery {}
