import { DynamicModule, Module } from '@nestjs/common';
import { EnKashConfig, SyncConfig } from '../config/app-config';
import { EnKashModule } from '../enkash/enkash.module';
import { SettlementModule } from './settlement.module';
import { SyncWorker } from './sync.worker';

/** Registered only where EnKash is reachable (configured, or the in-process simulator). */
@Module({})
export class SyncWorkerModule {
  static register(enkash: EnKashConfig, sync: SyncConfig): DynamicModule {
    return {
      module: SyncWorkerModule,
      // A timed-out send is watched for its late answer as long as the lookup grace, never longer: by the time the
      // load may be looked up again, this process no longer holds that request open (docs/design.md, "Lookups").
      imports: [SettlementModule, EnKashModule.register(enkash, { lateWatchMs: sync.lookupGraceMs })],
      providers: [SyncWorker],
      exports: [SyncWorker],
    };
  }
}
