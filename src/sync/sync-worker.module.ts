import { DynamicModule, Module } from '@nestjs/common';
import { EnKashConfig } from '../config/app-config';
import { EnKashModule } from '../enkash/enkash.module';
import { SettlementModule } from './settlement.module';
import { SyncWorker } from './sync.worker';

/** Registered only where EnKash is reachable (configured, or the in-process simulator). */
@Module({})
export class SyncWorkerModule {
  static register(enkash: EnKashConfig): DynamicModule {
    return {
      module: SyncWorkerModule,
      imports: [SettlementModule, EnKashModule.register(enkash)],
      providers: [SyncWorker],
      exports: [SyncWorker],
    };
  }
}
