import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/scopes';
import { SEND_GATE_SQL } from '../database/identity-sql';
import { MetricsService } from './metrics.service';

type PgPool = { totalCount: number; idleCount: number; waitingCount: number };

@ApiTags('operations')
@Controller('metrics')
@Public()
export class MetricsController {
  constructor(private readonly metrics: MetricsService, @InjectDataSource() private readonly ds: DataSource) {}

  /** Gauges read from the database are refreshed on scrape, so they cost nothing between scrapes. */
  @Get()
  @ApiOperation({ summary: 'Prometheus metrics', description: 'Loads by status, sync attempts by outcome, sync lag, EnKash latency, '
    + 'circuit state, DB pool, the latest ledger verification (card_ledger_audit_verify_ok, _findings, _last_run_timestamp_seconds), '
    + 'the sealing queue and the newest checkpoint. See README for alerts.' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format 0.0.4.', schema: { type: 'string', example: 'card_ledger_loads{status="pending"} 3' } })
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    const rows: Array<{ status: string; n: number }> = await this.ds.query(`SELECT status, count(*)::int AS n FROM card_loads GROUP BY status`);
    for (const s of ['pending', 'posted', 'reversed', 'needs_review']) {
      this.metrics.loadsByStatus.set({ status: s }, rows.find((r) => r.status === s)?.n ?? 0);
    }
    const [lag] = await this.ds.query<Array<{ s: number }>>(
      `SELECT coalesce(extract(epoch FROM clock_timestamp() - min(l.created_at)), 0)::float AS s
       FROM sync_jobs j JOIN card_loads l ON l.id = j.load_id WHERE l.status = 'pending'`);
    this.metrics.syncLag.set(Number(lag.s));
    const [gate]: Array<{ gate: string }> = await this.ds.query(`SELECT ${SEND_GATE_SQL} AS gate`);
    this.metrics.sendsHeld.set(gate.gate === 'open' ? 0 : 1);
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
    const [a]: Array<{ ok: boolean | null; findings: number | null; finished: number | null; duration_ms: number | null;
      unsealed: number; checkpoint: string | null }> = await this.ds.query(
      `SELECT v.ok, v.findings_count AS findings, extract(epoch FROM v.finished_at)::float8 AS finished,
              (v.result->>'durationMs')::float8 AS duration_ms,
              (SELECT count(*)::int FROM journal_unsealed) AS unsealed, (SELECT max(seq) FROM audit_checkpoints) AS checkpoint
       FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT * FROM audit_verifications ORDER BY id DESC LIMIT 1) v ON true`);
    if (a.ok !== null) {
      this.metrics.auditVerifyOk.set(a.ok ? 1 : 0);
      this.metrics.auditVerifyFindings.set(a.findings ?? 0);
      this.metrics.auditVerifyFinished.set(a.finished ?? 0);
      this.metrics.auditVerifyDuration.set((a.duration_ms ?? 0) / 1000);
    }
    this.metrics.auditUnsealed.set(a.unsealed);
    if (a.checkpoint !== null) this.metrics.auditCheckpointSeq.set(Number(a.checkpoint));
  }
}
