import { Module } from '@nestjs/common';
import { AuditEventsController } from './audit-events.controller';
import { AuditEventsService } from './audit-events.service';

/** The reading side of the audit trail; writers call recordAuditEvent() in their own transactions. */
@Module({ controllers: [AuditEventsController], providers: [AuditEventsService] })
export class AuditTrailModule {}
