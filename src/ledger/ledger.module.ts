import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AuditCheckpointer } from './audit-checkpoints';
import { AUDIT_KEYS, AuditKeys } from './audit-keys';
import { AuditVerifications } from './audit-verifications';
import { AuditVerifierService } from './audit-verifier.service';
import { AuditController } from './audit.controller';
import { LedgerClock } from './ledger-clock';
import { LedgerService } from './ledger.service';
import { SealerService } from './sealer.service';

@Module({
  controllers: [AuditController],
  providers: [
    LedgerService, SealerService, AuditVerifierService, LedgerClock, AuditCheckpointer, AuditVerifications,
    { provide: AUDIT_KEYS, useFactory: (config: AppConfig) => AuditKeys.fromConfig(config.audit), inject: [APP_CONFIG] },
  ],
  exports: [LedgerService, SealerService, AuditVerifierService, LedgerClock, AuditCheckpointer, AuditVerifications, AUDIT_KEYS],
})
export class LedgerModule {}
