import { Module } from '@nestjs/common';
import { CardLoadsModule } from '../card-loads/card-loads.module';
import { LedgerModule } from '../ledger/ledger.module';
import { OperatorController } from './operator.controller';
import { SettlementService } from './settlement.service';
import { SyncJobsStore } from './sync-jobs.store';

@Module({
  imports: [LedgerModule, CardLoadsModule],
  controllers: [OperatorController],
  providers: [SettlementService, SyncJobsStore],
  exports: [SettlementService, SyncJobsStore],
})
export class SettlementModule {}
