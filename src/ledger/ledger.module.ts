import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { ChainVerifierService } from './chain-verifier.service';
import { LedgerService } from './ledger.service';
import { SealerService } from './sealer.service';

@Module({
  controllers: [AuditController],
  providers: [LedgerService, SealerService, ChainVerifierService],
  exports: [LedgerService, SealerService, ChainVerifierService],
})
export class LedgerModule {}
