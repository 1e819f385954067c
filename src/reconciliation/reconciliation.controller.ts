import { Controller, Get, Headers, HttpCode, Inject, Optional, Post, Query, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { actorOfCaller } from '../audit-trail/audit-trail';
import type { AuthedRequest } from '../auth/api-key.guard';
import { RequireScopes } from '../auth/scopes';
import { answerList, wantsCsv } from '../common/csv';
import { ApiError } from '../common/errors';
import { AuditorRead } from '../database/replica/auditor-read';
import { ReconciliationReport } from './reconciliation-report.service';
import { ReconciliationQuery, ReconciliationRunsQuery } from './reconciliation.dto';
import { DocReconciliationReport, DocReconciliationRun, DocReconciliationRuns } from './reconciliation.openapi';
import { ReconciliationService } from './reconciliation.service';

@ApiTags('reports')
@Controller('v1/reports/reconciliation')
export class ReconciliationController {
  constructor(
    private readonly report: ReconciliationReport,
    /** Absent where no EnKash client exists (ROLE=api without ENKASH_BASE_URL): reads work, runs do not. */
    @Optional() @Inject(ReconciliationService) private readonly runs?: ReconciliationService,
  ) {}

  /** The report as JSON; with CSV, every finding in the window (the summary does not fit a table). */
  @Get()
  @RequireScopes('ledger:read')
  @DocReconciliationReport()
  @AuditorRead()
  async get(@Query() q: ReconciliationQuery, @Headers('accept') accept?: string) {
    if (wantsCsv(q.format, accept)) return answerList(this.report.findings(q), true, 'reconciliation-findings.csv');
    return this.report.report(q);
  }

  @Get('runs')
  @RequireScopes('ledger:read')
  @DocReconciliationRuns()
  // Always the primary: an operator polls the run their own POST just started (docs/operations.md, "Read replicas").
  runsList(@Query() q: ReconciliationRunsQuery) {
    return this.report.runs(q);
  }

  /** Runs now, in this request, and answers the finished run with its findings. */
  @Post('runs')
  @HttpCode(201)
  @RequireScopes('ops:write')
  @DocReconciliationRun()
  async run(@Req() req: AuthedRequest) {
    if (!this.runs) {
      throw new ApiError(
        'service_unavailable',
        'reconciliation runs need EnKash, and this instance has no EnKash client (ENKASH_BASE_URL unset with ROLE=api)',
      );
    }
    const result = await this.runs.run('manual', actorOfCaller(req.caller!, String(req.id)));
    if (result === null) throw new ApiError('conflict', 'a reconciliation run is in progress; ask again when it has finished');
    return { ...result.run, findings: result.findings };
  }
}
