import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from './accounts/accounts.module';
import { AuthModule } from './auth/auth.module';
import { CardLoadsModule } from './card-loads/card-loads.module';
import { CardsModule } from './cards/cards.module';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { dataSourceOptions } from './database/data-source';
import { HealthModule } from './health/health.module';
import { JournalModule } from './journal/journal.module';
import { LedgerModule } from './ledger/ledger.module';
import { MetricsModule } from './metrics/metrics.module';
import { ReportsModule } from './reports/reports.module';
import { SettlementModule } from './sync/settlement.module';
import { SyncWorkerModule } from './sync/sync-worker.module';

@Global()
@Module({})
class ConfigModule {
  static register(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: APP_CONFIG, useValue: config }], exports: [APP_CONFIG] };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(config),
        TypeOrmModule.forRoot(dataSourceOptions(databaseUrl)),
        HealthModule,
        AuthModule,
        MetricsModule,
        LedgerModule,
        CardLoadsModule,
        CardsModule,
        AccountsModule,
        JournalModule,
        ReportsModule,
        SettlementModule,
        ...(config.enkash.baseUrl !== null ? [SyncWorkerModule.register(config.enkash)] : []),
      ],
    };
  }
}
