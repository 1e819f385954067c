import { DynamicModule, Module } from '@nestjs/common';
import { EnKashConfig } from '../config/app-config';
import { LedgerModule } from '../ledger/ledger.module';
import { SettlementModule } from '../sync/settlement.module';
import { ReconciliationReport } from './reconciliation-report.service';
import { ReconciliationController } from './reconciliation.controller';
import { ReconciliationScheduler } from './reconciliation.scheduler';
import { ReconciliationService } from './reconciliation.service';
import { ReconciliationStore } from './reconciliation.store';

/**
 * Always registered, so the report answers in every instance. Runs need EnKash, so the runner and its
 * schedule exist only where EnKash is reachable: the same rule under which AppModule registers
 * SyncWorkerModule, whose EnKash client the runner borrows (reconciliation.service.ts says why).
 */
@Module({})
export class ReconciliationModule {
  static register(enkash: EnKashConfig): DynamicModule {
    const live = enkash.baseUrl !== null;
    return {
      module: ReconciliationModule,
      imports: live ? [LedgerModule, SettlementModule] : [LedgerModule],
      controllers: [ReconciliationController],
      providers: [ReconciliationReport, ReconciliationStore, ...(live ? [ReconciliationService, ReconciliationScheduler] : [])],
    };
  }
}
