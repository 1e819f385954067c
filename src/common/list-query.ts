import { IsIn, IsOptional, IsString } from 'class-validator';

/** Paging and export parameters every auditor list takes (API.md "Lists", "CSV"). */
export class ListQuery {
  @IsOptional() @IsString()
  limit?: string;

  @IsOptional() @IsString()
  cursor?: string;

  @IsOptional() @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
}

export class TimeRangeListQuery extends ListQuery {
  @IsOptional() @IsString()
  from?: string;

  @IsOptional() @IsString()
  to?: string;
}
