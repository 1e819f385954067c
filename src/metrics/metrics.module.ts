import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { CardLoadsStore } from '../card-loads/card-loads.store';
import { AuditStore } from '../ledger/audit.store';
import { SyncJobsStore } from '../sync/sync-jobs.store';
import { MetricsService } from './metrics.service';

@Global()
/** The scrape reads through the stores (stateless), provided here so the global module imports no feature module. */
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, CardLoadsStore, SyncJobsStore, AuditStore],
  exports: [MetricsService],
})
export class MetricsModule {}
