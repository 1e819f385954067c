import { Module } from '@nestjs/common';
import { OperatorController } from '../card-loads/card-load-operator.controller';
import { CardLoadsModule } from '../card-loads/card-loads.module';
import { LedgerModule } from '../ledger/ledger.module';
import { SettlementService } from './settlement.service';
import { SyncJobsStore } from './sync-jobs.store';
import { WebhookOutboxModule } from '../webhooks/webhook-outbox.module';

@Module({
  imports: [LedgerModule, CardLoadsModule, WebhookOutboxModule],
  controllers: [OperatorController],
  providers: [SettlementService, SyncJobsStore],
  exports: [SettlementService, SyncJobsStore],
})
export class SettlementModule {}
