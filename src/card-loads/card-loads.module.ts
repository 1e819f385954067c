import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { CardLoadsController } from './card-loads.controller';
import { CardLoadsService } from './card-loads.service';
import { IntakeWriter } from './intake-writer';
import { CardLoadBatchService } from './card-load-batch';

@Module({
  imports: [LedgerModule],
  controllers: [CardLoadsController],
  providers: [CardLoadsService, IntakeWriter, CardLoadBatchService],
  exports: [CardLoadsService],
})
export class CardLoadsModule {}
