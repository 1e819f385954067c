import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { ChainVerifierService } from './chain-verifier.service';
import { LedgerClock } from './ledger-clock';
import { LedgerService } from './ledger.service';
import { SealerService } from './sealer.service';

@Module({
  controllers: [AuditController],
  providers: [LedgerService, SealerService, ChainVerifierService, LedgerClock],
  exports: [LedgerService, SealerService, ChainVerifierService, LedgerClock],
})
export class LedgerModule {}
