import { Global, Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { WorkerHeartbeat } from './worker-heartbeat';

@Global()
@Module({ controllers: [HealthController], providers: [WorkerHeartbeat], exports: [WorkerHeartbeat] })
export class HealthModule {}
