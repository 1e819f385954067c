import { DynamicModule, Module } from '@nestjs/common';
import { AccountsModule } from './accounts/accounts.module';
import { AuditTrailModule } from './audit-trail/audit-trail.module';
import { AuthModule } from './auth/auth.module';
import { CardLoadsModule } from './card-loads/card-loads.module';
import { CardsModule } from './cards/cards.module';
import { ConsoleModule } from './console/console.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { JournalModule } from './journal/journal.module';
import { LedgerModule } from './ledger/ledger.module';
import { MetricsModule } from './metrics/metrics.module';
import { ReportsModule } from './reports/reports.module';
import { SettlementModule } from './sync/settlement.module';
import { WebhooksModule } from './webhooks/webhooks.module';

/**
 * The HTTP side: every feature module with its controllers, the API-key guard (AuthModule), the console's
 * sessions; app.factory.ts adds the OpenAPI document, the body parser and the security headers. No timers: the
 * feature modules own none (docs/design.md, "Processes and roles").
 */
@Module({})
export class ApiModule {
  /** `reconciliation` is built once by app.module.ts: the worker's scheduler shares its runner. */
  static register(reconciliation: DynamicModule): DynamicModule {
    return {
      module: ApiModule,
      imports: [
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
        reconciliation,
        WebhooksModule,
        ConsoleModule,
      ],
    };
  }
}
