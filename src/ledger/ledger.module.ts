import { Module } from '@nestjs/common';
import { WebhookOutboxModule } from '../webhooks/webhook-outbox.module';
import { AuditCheckpointer } from './audit-checkpoints';
import { AuditVerifications } from './audit-verifications';
import { AuditVerifierService } from './audit-verifier.service';
import { AuditController } from './audit.controller';
import { AuditStore } from './audit.store';
import { AccountsStore } from '../accounts/accounts.store';
import { JournalStore } from './journal.store';
import { LedgerClock } from './ledger-clock';
import { LedgerService } from './ledger.service';
import { SealerService } from './sealer.service';

/**
 * The ledger and its audit (docs/audit.md). Its periodic jobs (sealer, checkpoints, verifier) are started by worker/;
 * the audit key (AUDIT_KEYS) comes from the composition root (AuditKeysModule).
 */
@Module({
  imports: [WebhookOutboxModule],
  controllers: [AuditController],
  providers: [
    LedgerService,
    SealerService,
    AuditVerifierService,
    LedgerClock,
    AuditCheckpointer,
    AuditVerifications,
    AuditStore,
    JournalStore,
    AccountsStore,
  ],
  exports: [
    LedgerService,
    SealerService,
    AuditVerifierService,
    LedgerClock,
    AuditCheckpointer,
    AuditVerifications,
    AuditStore,
    JournalStore,
    AccountsStore,
  ],
})
export class LedgerModule {}
