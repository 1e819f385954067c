import { Controller, Get, HttpCode } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/scopes';
import { ApiError } from '../common/errors';
import { pendingMigrationCount } from '../database/data-source';
import { WorkerHeartbeat } from './worker-heartbeat';

@Controller('health')
@Public()
export class HealthController {
  constructor(@InjectDataSource() private readonly ds: DataSource, private readonly worker: WorkerHeartbeat) {}

  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /** Ready = the database answers, every migration is applied, and the worker (when it runs here) is alive. */
  @Get('ready')
  async ready() {
    const checks: Record<string, string> = {};
    try {
      await this.ds.query('SELECT 1');
      checks.database = 'ok';
      checks.migrations = (await pendingMigrationCount(this.ds)) === 0 ? 'ok' : 'pending';
    } catch {
      checks.database = 'unreachable';
    }
    checks.worker = this.worker.status();
    const ok = Object.values(checks).every((v) => v === 'ok' || v === 'not running here');
    if (!ok) throw new ApiError(503, 'service_unavailable', `not ready: ${JSON.stringify(checks)}`);
    return { status: 'ok', checks };
  }
}
