import { Module } from '@nestjs/common';
import { SyncJobsStore } from './sync-jobs.store';

/** The outbox jobs' store alone: intake (card-loads/) enqueues jobs without depending on settlement. */
@Module({ providers: [SyncJobsStore], exports: [SyncJobsStore] })
export class SyncJobsModule {}
