import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { CardLoadsController } from './card-loads.controller';
import { CardLoadsService } from './card-loads.service';
import { CardLoadsStore } from './card-loads.store';
import { IntakeWriter } from './intake-writer';
import { CardLoadBatchService } from './card-load-batch';

@Module({
  imports: [LedgerModule],
  controllers: [CardLoadsController],
  providers: [CardLoadsService, CardLoadsStore, IntakeWriter, CardLoadBatchService],
  exports: [CardLoadsService, CardLoadsStore],
})
export class CardLoadsModule {}
