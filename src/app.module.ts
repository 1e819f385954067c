import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { ApiModule } from './api.module';
import { AppConfig, Role } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { dataSourceOptions } from './database/data-source';
import { EnKashModule } from './enkash/enkash.module';
import { AuditKeysModule } from './ledger/audit-keys.module';
import { loggerParams } from './logging/logging';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { LedgerJobsModule, WorkerModule } from './worker/worker.module';

/**
 * Which process runs what: the one place that reads ROLE (docs/design.md, "Processes and roles"). Every role serves
 * HTTP (ApiModule), so probes, metrics and requests reach any instance; the worker's jobs run with ROLE=all or
 * worker; the ledger's audit jobs (sealer, checkpoints, verifier schedule) run in every process, one instance
 * at a time doing the work under their locks.
 */
export const ROLES: Record<Role, { worker: boolean }> = {
  all: { worker: true },
  api: { worker: false },
  worker: { worker: true },
};

/**
 * EnKash is reachable when configured, or when the runtime started the simulator (config.enkash.baseUrl is then its
 * URL; runtime.ts starts it only for roles that run the worker). Its client is registered here, once.
 */
function roleModules(config: AppConfig): DynamicModule['imports'] {
  const enkash = config.enkash.baseUrl !== null;
  const reconciliation = ReconciliationModule.register(enkash);
  return [
    // A timed-out send is watched for its late answer as long as the lookup grace, never longer: by the time the
    // load may be looked up again, this process no longer holds that request open (docs/design.md, "Lookups").
    ...(enkash ? [EnKashModule.register(config.enkash, { lateWatchMs: config.sync.lookupGraceMs })] : []),
    ApiModule.register(reconciliation),
    ROLES[config.role].worker ? WorkerModule.register(reconciliation, enkash) : LedgerJobsModule,
  ];
}

@Module({})
export class AppModule {
  /** `logger` is the app's root pino logger (app.factory.ts builds it from LOG_LEVEL or the caller's options). */
  static forRoot(config: AppConfig, databaseUrl: string, logger: PinoLogger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(config),
        AuditKeysModule.fromConfig(),
        LoggerModule.forRoot(loggerParams(logger)),
        TypeOrmModule.forRoot(dataSourceOptions(databaseUrl)),
        ...(roleModules(config) ?? []),
      ],
    };
  }
}
