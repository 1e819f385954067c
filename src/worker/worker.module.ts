import { BeforeApplicationShutdown, DynamicModule, Injectable, Module, OnApplicationBootstrap, Type } from '@nestjs/common';
import { AccountMoments } from '../ledger/account-moments';
import { AuditCheckpointer } from '../ledger/audit-checkpoints';
import { AuditVerifications } from '../ledger/audit-verifications';
import { PartitionMaintenance } from '../ledger/partitions/partition-maintenance';
import { LedgerModule } from '../ledger/ledger.module';
import { SealerService } from '../ledger/sealer.service';
import { ReconciliationScheduler } from '../reconciliation/reconciliation.scheduler';
import { SettlementModule } from '../sync/settlement.module';
import { SyncWorker } from '../sync/sync.worker';
import { WebhookDeliveryWorker } from '../webhooks/webhook-delivery.worker';
import { WebhooksModule } from '../webhooks/webhooks.module';

/** Something started with the process and drained before the database pool and the EnKash client close. */
interface Job {
  start(): void;
  stop(): Promise<void> | void;
}

/** Starts the given jobs at bootstrap and stops them all (in parallel, each draining its work) at shutdown. */
abstract class Jobs implements OnApplicationBootstrap, BeforeApplicationShutdown {
  protected abstract readonly jobs: Job[];

  onApplicationBootstrap(): void {
    for (const job of this.jobs) job.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Each stop() in its own promise: a synchronous stop (void) or throw does not keep the others from starting.
    await Promise.all(this.jobs.map(async (job) => job.stop()));
  }
}

/**
 * The ledger's jobs: the partitions, the dating of accounts moved before their moment was kept, the sealer (every
 * 500 ms), the signed checkpoints, the complete verifier's schedule.
 */
@Injectable()
class LedgerJobs extends Jobs {
  protected readonly jobs: Job[];

  constructor(
    sealer: SealerService,
    checkpointer: AuditCheckpointer,
    verifications: AuditVerifications,
    partitions: PartitionMaintenance,
    moments: AccountMoments,
  ) {
    super();
    this.jobs = [
      partitions,
      moments,
      { start: () => sealer.start(), stop: () => sealer.stop() },
      checkpointer,
      { start: () => verifications.startSchedule(), stop: () => verifications.stop() },
    ];
  }
}

/** The ledger's audit jobs alone: composed by every role (app.module.ts); WorkerModule includes it. */
@Module({ imports: [LedgerModule], providers: [LedgerJobs] })
export class LedgerJobsModule {}

/** Sync to EnKash, webhook delivery, the reconciliation schedule: those of them this process has. */
class WorkerJobs extends Jobs {
  constructor(protected readonly jobs: Job[]) {
    super();
  }
}

/**
 * What a worker process runs besides HTTP (ROLE=worker or all; docs/design.md, "Processes and roles"): webhook
 * delivery, the ledger's audit jobs and, where EnKash is reachable (`enkash`: app.module.ts registered its client),
 * the sync worker and the reconciliation schedule. `reconciliation` is the same module object the API imports.
 */
@Module({})
export class WorkerModule {
  static register(reconciliation: DynamicModule, enkash: boolean): DynamicModule {
    const jobs: Array<Type<Job>> = enkash ? [WebhookDeliveryWorker, SyncWorker, ReconciliationScheduler] : [WebhookDeliveryWorker];
    return {
      module: WorkerModule,
      imports: [LedgerJobsModule, SettlementModule, WebhooksModule, reconciliation],
      providers: [...jobs, { provide: WorkerJobs, useFactory: (...started: Job[]) => new WorkerJobs(started), inject: jobs }],
    };
  }
}
