import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { ReportsController } from './reports.controller';
import { TrialBalanceService } from './trial-balance.service';

@Module({ imports: [LedgerModule], controllers: [ReportsController], providers: [TrialBalanceService] })
export class ReportsModule {}
