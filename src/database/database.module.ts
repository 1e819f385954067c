import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { DatabaseController } from './database.controller';
import { DatabaseIdentityService } from './database-identity.service';
import { DatabaseOutage } from './database-outage';
import { MigrationsGate } from './migrations-gate';

/**
 * The database as the service depends on it: its identity (fork safety: the sync worker, the health probe and the
 * operator routes all ask), its outages (503, logged once), and the write gate while migrations are pending.
 */
@Global()
@Module({
  controllers: [DatabaseController],
  providers: [DatabaseIdentityService, DatabaseOutage, { provide: APP_INTERCEPTOR, useClass: MigrationsGate }],
  exports: [DatabaseIdentityService, DatabaseOutage],
})
export class DatabaseModule {}
