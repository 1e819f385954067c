import { Controller, Get, Headers, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../auth/scopes';
import { answerList, wantsCsv } from '../common/csv';
import { ListAuditEventsQuery } from './audit-events.dto';
import { DocListAuditEvents } from './audit-events.openapi';
import { AuditEventsService } from './audit-events.service';

@ApiTags('audit')
@Controller('v1/audit/events')
@RequireScopes('ledger:read')
export class AuditEventsController {
  constructor(private readonly events: AuditEventsService) {}

  @Get()
  @DocListAuditEvents()
  list(@Query() q: ListAuditEventsQuery, @Headers('accept') accept?: string) {
    return answerList(this.events.list(q), wantsCsv(q.format, accept), 'audit-events.csv');
  }
}
