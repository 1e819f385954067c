import { Module } from '@nestjs/common';
import { OperatorController } from '../card-loads/card-load-operator.controller';
import { CardLoadsModule } from '../card-loads/card-loads.module';
import { LedgerModule } from '../ledger/ledger.module';
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
