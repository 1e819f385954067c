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
import { SealsStore } from './seals.store';
import { AuditEventsStore } from '../audit-trail/audit-events.store';
import { ArchivePoint } from './partitions/archive-point';
import { LedgerArchiveService } from './partitions/ledger-archive.service';
import { PartitionMaintenance } from './partitions/partition-maintenance';
import { AccountMoments } from './account-moments';
import { PartitionsStore } from './partitions/partitions.store';

/** Provided and exported alike: the ledger's services, jobs and stores are what its importers use. */
const LEDGER_PROVIDERS = [
  LedgerService,
  SealerService,
  AuditVerifierService,
  LedgerClock,
  AuditCheckpointer,
  AuditVerifications,
  AuditStore,
  JournalStore,
  AccountsStore,
  SealsStore,
  PartitionsStore,
  ArchivePoint,
  PartitionMaintenance,
  AccountMoments,
  LedgerArchiveService,
];

/**
 * The ledger and its audit (docs/audit.md). Its periodic jobs (sealer, checkpoints, verifier) are started by worker/;
 * the audit key (AUDIT_KEYS) comes from the composition root (AuditKeysModule).
 */
@Module({
  imports: [WebhookOutboxModule],
  controllers: [AuditController],
  providers: [...LEDGER_PROVIDERS, AuditEventsStore],
  exports: LEDGER_PROVIDERS,
})
export class LedgerModule {}
