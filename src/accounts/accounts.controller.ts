import { Body, Controller, Get, Headers, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../auth/scopes';
import { answerList, wantsCsv } from '../common/csv';
import { TimeRangeListQuery } from '../common/list-query';
import { AccountQuery, CreateAccountDto, ListAccountsQuery } from './account.dto';
import { DocAccountEntries, DocCreateAccount, DocGetAccount, DocListAccounts } from './account.openapi';
import { AccountsService } from './accounts.service';
import { AuditorRead } from '../database/replica/auditor-read';

@ApiTags('accounts')
@Controller('v1/accounts')
@RequireScopes('ledger:read')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  @RequireScopes('admin')
  @DocCreateAccount()
  create(@Body() body: CreateAccountDto) {
    return this.accounts.create(body);
  }

  @Get()
  @DocListAccounts()
  @AuditorRead()
  list(@Query() q: ListAccountsQuery, @Headers('accept') accept?: string) {
    return answerList(this.accounts.list(q), wantsCsv(q.format, accept), 'accounts.csv');
  }

  @Get(':code')
  @DocGetAccount()
  @AuditorRead()
  get(@Param('code') code: string, @Query() q: AccountQuery) {
    return this.accounts.get(code, q);
  }

  @Get(':code/entries')
  @DocAccountEntries()
  @AuditorRead({ immutableRows: true })
  async entries(@Param('code') code: string, @Query() q: TimeRangeListQuery, @Headers('accept') accept?: string) {
    return answerList(await this.accounts.entries(code, q), wantsCsv(q.format, accept), `${code}-entries.csv`);
  }
}
