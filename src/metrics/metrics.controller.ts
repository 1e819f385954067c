import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/scopes';
import { CardLoadsStore } from '../card-loads/card-loads.store';
import { DatabaseIdentityStore } from '../database/database-identity.store';
import { AuditVerifications } from '../ledger/audit-verifications';
import { AuditStore } from '../ledger/audit.store';
import { SyncJobsStore } from '../sync/sync-jobs.store';
import { MetricsService } from './metrics.service';

type PgPool = { totalCount: number; idleCount: number; waitingCount: number };

@ApiTags('operations')
@Controller('metrics')
@Public()
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly loads: CardLoadsStore,
    private readonly jobs: SyncJobsStore,
    private readonly identity: DatabaseIdentityStore,
    private readonly audit: AuditStore,
    private readonly modules: ModuleRef,
  ) {}

  /** Gauges read from the database are refreshed on scrape, so they cost nothing between scrapes. */
  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Loads by status, sync attempts by outcome, sync lag, EnKash latency, ' +
      'circuit state, DB pool, the latest ledger verification (card_ledger_audit_verify_ok, _findings, _last_run_timestamp_seconds), ' +
      'the sealing queue and the newest checkpoint. See README for alerts.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition format 0.0.4.',
    schema: { type: 'string', example: 'card_ledger_loads{status="pending"} 3' },
  })
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    const rows = await this.loads.countByStatus();
    for (const s of ['pending', 'posted', 'reversed', 'needs_review']) {
      this.metrics.loadsByStatus.set({ status: s }, rows.find((r) => r.status === s)?.n ?? 0);
    }
    this.metrics.syncLag.set(await this.jobs.lagSeconds());
    this.metrics.sendsHeld.set((await this.identity.sendGate()) === 'open' ? 0 : 1);
    await this.scrapeAudit();
    const pool = (this.ds.driver as unknown as { master?: PgPool }).master;
    if (pool) {
      this.metrics.dbPool.set({ state: 'total' }, pool.totalCount);
      this.metrics.dbPool.set({ state: 'idle' }, pool.idleCount);
      this.metrics.dbPool.set({ state: 'waiting' }, pool.waitingCount);
    }
    return this.metrics.registry.metrics();
  }

  /** The latest verification (any instance's), the sealing queue and the newest checkpoint: read from the database. */
  private async scrapeAudit(): Promise<void> {
    const a = await this.audit.gauges();
    // The verdict as signed (a rewritten one reads as failed): audit-verifications.ts.
    const v = await this.modules.get(AuditVerifications, { strict: false }).latest();
    if (v) {
      this.metrics.auditVerifyOk.set(v.ok ? 1 : 0);
      this.metrics.auditVerifyFindings.set(v.findings.length);
      this.metrics.auditVerifyFinished.set(Date.parse(v.finishedAt) / 1000 || 0);
      this.metrics.auditVerifyDuration.set((v.durationMs ?? 0) / 1000);
    }
    this.metrics.auditUnsealed.set(a.unsealed);
    if (a.checkpoint !== null) this.metrics.auditCheckpointSeq.set(Number(a.checkpoint));
  }
}
