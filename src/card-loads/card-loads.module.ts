import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { CardLoadsController } from './card-loads.controller';
import { CardLoadsService } from './card-loads.service';

@Module({
  imports: [LedgerModule],
  controllers: [CardLoadsController],
  providers: [CardLoadsService],
  exports: [CardLoadsService],
})
export class CardLoadsModule {}
