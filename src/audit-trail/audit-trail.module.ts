import { Global, Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { AuditEventsController } from './audit-events.controller';
import { AuditEventsService } from './audit-events.service';
import { AuditEventsStore } from './audit-events.store';
import { AuditTrail } from './audit-trail.service';

/** The audit trail: every feature records its admin actions through AuditTrail (keyed by the ledger's audit key). */
@Global()
@Module({
  imports: [LedgerModule],
  controllers: [AuditEventsController],
  providers: [AuditEventsService, AuditEventsStore, AuditTrail],
  exports: [AuditTrail],
})
export class AuditTrailModule {}
