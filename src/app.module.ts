import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { AccountsModule } from './accounts/accounts.module';
import { AuditTrailModule } from './audit-trail/audit-trail.module';
import { AuthModule } from './auth/auth.module';
import { CardLoadsModule } from './card-loads/card-loads.module';
import { CardsModule } from './cards/cards.module';
import { ConsoleModule } from './console/console.module';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { dataSourceOptions } from './database/data-source';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { JournalModule } from './journal/journal.module';
import { LedgerModule } from './ledger/ledger.module';
import { loggerParams } from './logging/logging';
import { MetricsModule } from './metrics/metrics.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { ReportsModule } from './reports/reports.module';
import { SettlementModule } from './sync/settlement.module';
import { SyncWorkerModule } from './sync/sync-worker.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Global()
@Module({})
class ConfigModule {
  static register(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: APP_CONFIG, useValue: config }], exports: [APP_CONFIG] };
  }
}

@Module({})
export class AppModule {
  /** `logger` is the app's root pino logger (app.factory.ts builds it from LOG_LEVEL or the caller's options). */
  static forRoot(config: AppConfig, databaseUrl: string, logger: PinoLogger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(config),
        LoggerModule.forRoot(loggerParams(logger)),
        TypeOrmModule.forRoot(dataSourceOptions(databaseUrl)),
        HealthModule,
        AuthModule,
        MetricsModule,
        DatabaseModule,
        AuditTrailModule,
        LedgerModule,
        CardLoadsModule,
        CardsModule,
        AccountsModule,
        JournalModule,
        ReportsModule,
        SettlementModule,
        ...(config.enkash.baseUrl !== null ? [SyncWorkerModule.register(config.enkash, config.sync)] : []),
        ReconciliationModule.register(config.enkash),
        WebhooksModule,
        ConsoleModule,
      ],
    };
  }
}
