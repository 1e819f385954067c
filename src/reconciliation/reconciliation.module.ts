import { DynamicModule, Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { SettlementModule } from '../sync/settlement.module';
import { ReconciliationReport } from './reconciliation-report.service';
import { ReconciliationController } from './reconciliation.controller';
import { ReconciliationService } from './reconciliation.service';
import { ReconciliationStore } from './reconciliation.store';

/**
 * The report answers in every instance. Runs need EnKash, so the runner exists only where app.module.ts
 * registered the EnKash client (`runs`); its schedule is the worker's (worker/worker.module.ts).
 */
@Module({})
export class ReconciliationModule {
  static register(runs: boolean): DynamicModule {
    return {
      module: ReconciliationModule,
      imports: runs ? [LedgerModule, SettlementModule] : [LedgerModule],
      controllers: [ReconciliationController],
      providers: [ReconciliationReport, ReconciliationStore, ...(runs ? [ReconciliationService] : [])],
      exports: runs ? [ReconciliationService] : [],
    };
  }
}
