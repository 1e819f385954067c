import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheckResult, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/scopes';
import { ApiError } from '../common/errors';
import { pendingMigrationCount } from '../database/data-source';
import { DatabaseIdentityStore } from '../database/database-identity.store';
import { ReadReplica } from '../database/replica/read-replica';
import { DocLive, DocReady } from './health.openapi';
import { WorkerHeartbeat } from './worker-heartbeat';

/** A probe must answer even when the database hangs: the ping gives up after this long. */
const DB_PING_TIMEOUT_MS = 2_000;

@ApiTags('operations')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicator: HealthIndicatorService,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly worker: WorkerHeartbeat,
    private readonly identity: DatabaseIdentityStore,
    private readonly replica: ReadReplica,
  ) {}

  @Get('live')
  @HttpCode(200)
  @DocLive()
  live() {
    return { status: 'ok' };
  }

  /**
   * Ready = the database answers, every migration is applied, and the worker (when it runs here) is alive.
   * Terminus runs the checks; the reply keeps this service's own shape (API.md), not Terminus's.
   */
  @Get('ready')
  @DocReady()
  async ready() {
    // The read replica is reported, never required: without it every read goes to the primary (docs/operations.md).
    const replica = this.replica.status();
    let result: HealthCheckResult;
    try {
      result = await this.health.check([
        () => this.db.pingCheck('database', { connection: this.ds, timeout: DB_PING_TIMEOUT_MS }),
        () => this.migrationsCheck(),
        () => this.workerCheck(),
        () => this.identityCheck(),
      ]);
    } catch (e) {
      if (!(e instanceof ServiceUnavailableException)) throw e;
      result = e.getResponse() as HealthCheckResult;
    }
    const up = (key: string) => result.details[key]?.status === 'up';
    const checks = {
      database: up('database') ? 'ok' : 'unreachable',
      // With the database down, "pending" would be a guess.
      migrations: !up('database') ? 'unknown' : up('migrations') ? 'ok' : 'pending',
      worker: String(result.details.worker?.state ?? 'unknown'),
      // A fork of the ledger (a restore, a clone) not handled yet, or held until an operator adopts it: not ready.
      databaseIdentity: !up('database') ? 'unknown' : String(result.details.databaseIdentity?.state ?? 'unknown'),
    };
    const { state, lagMs } = { lagMs: null, ...(await replica) };
    const reported = { ...checks, replica: state, replicaLagMs: lagMs };
    if (result.status !== 'ok') {
      const failing = Object.entries(checks)
        .filter(([key]) => !up(key))
        .map(([field, message]) => ({ field, message }));
      throw new ApiError('service_unavailable', `not ready: ${JSON.stringify(reported)}`, failing);
    }
    return { status: 'ok', checks: reported };
  }

  private async migrationsCheck() {
    const pending = await pendingMigrationCount(this.ds);
    return pending === 0 ? this.indicator.check('migrations').up() : this.indicator.check('migrations').down({ pending });
  }

  private async identityCheck() {
    const session = this.indicator.check('databaseIdentity');
    // Unknown while the database is down or its identity row not migrated yet (the other checks say which).
    const gate = await this.identity.sendGate().catch(() => 'unknown');
    return gate === 'open' ? session.up({ state: 'ok' }) : session.down({ state: gate });
  }

  private workerCheck() {
    const state = this.worker.status();
    const session = this.indicator.check('worker');
    return state === 'stalled' ? session.down({ state }) : session.up({ state });
  }
}
