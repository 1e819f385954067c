import { Module } from '@nestjs/common';
import { CardLoadsModule } from '../card-loads/card-loads.module';
import { LedgerModule } from '../ledger/ledger.module';
import { OperatorController } from './operator.controller';
import { SettlementService } from './settlement.service';
import { SyncJobsModule } from './sync-jobs.module';
import { WebhookOutboxModule } from '../webhooks/webhook-outbox.module';

@Module({
  imports: [LedgerModule, CardLoadsModule, WebhookOutboxModule, SyncJobsModule],
  controllers: [OperatorController],
  providers: [SettlementService],
  exports: [SettlementService, SyncJobsModule],
})
export class SettlementModule {}
