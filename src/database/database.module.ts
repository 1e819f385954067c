import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DatabaseController } from './database.controller';
import { SyncJobsStore } from '../sync/sync-jobs.store';
import { DatabaseIdentityService } from './database-identity.service';
import { DatabaseIdentityStore } from './database-identity.store';
import { DatabaseOutage } from './database-outage';
import { MigrationsGate } from './migrations-gate';
import { ServerSettingsCheck } from './server-settings';
import { AuditorReadInterceptor } from './replica/auditor-read';
import { LedgerReads } from './replica/ledger-reads';
import { ReadReplica } from './replica/read-replica';

/**
 * The database as the service depends on it: its identity (fork safety: the sync worker, the health probe and the
 * operator routes all ask), its outages (503, logged once), the write gate while migrations are pending, and the read
 * replica of auditor reads (replica/), and a warning at start when the server runs without autovacuum. A fork
 * makes every open job lookup-first by a mark each claim reads: the identity service counts sync_jobs through their
 * (stateless) store.
 */
@Global()
@Module({
  controllers: [DatabaseController],
  providers: [
    DatabaseIdentityService,
    DatabaseIdentityStore,
    SyncJobsStore,
    DatabaseOutage,
    ReadReplica,
    LedgerReads,
    AuditorReadInterceptor,
    ServerSettingsCheck,
    { provide: APP_GUARD, useClass: MigrationsGate },
  ],
  exports: [DatabaseIdentityService, DatabaseIdentityStore, DatabaseOutage, ReadReplica, LedgerReads, AuditorReadInterceptor],
})
export class DatabaseModule {}
