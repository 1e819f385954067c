import { Controller, Get, Headers, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../auth/scopes';
import { answerList, wantsCsv } from '../common/csv';
import { msIso } from '../common/instant';
import { TrialBalanceQuery } from './trial-balance.dto';
import { DocTrialBalance } from './trial-balance.openapi';
import { TrialBalanceService } from './trial-balance.service';
import { AuditorRead } from '../database/replica/auditor-read';

@ApiTags('reports')
@Controller('v1/reports')
@RequireScopes('ledger:read')
export class ReportsController {
  constructor(private readonly trialBalance: TrialBalanceService) {}

  @Get('trial-balance')
  @DocTrialBalance()
  @AuditorRead()
  async trialBalanceReport(@Query() q: TrialBalanceQuery, @Headers('accept') accept?: string) {
    const tb = await this.trialBalance.prepare(q);
    if (wantsCsv(q.format, accept)) return answerList(tb.accounts, true, `trial-balance-${msIso(tb.asOf)}.csv`);
    return this.trialBalance.page(tb);
  }
}
