import { Module } from '@nestjs/common';
import { ReportsController } from './reports.controller';
import { TrialBalanceService } from './trial-balance.service';

@Module({ controllers: [ReportsController], providers: [TrialBalanceService] })
export class ReportsModule {}
