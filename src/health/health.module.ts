import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { WorkerHeartbeat } from './worker-heartbeat';

/** Terminus logs every failed probe as an error with a stack; a probe polled while not ready would flood the log. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [WorkerHeartbeat],
  exports: [WorkerHeartbeat],
})
export class HealthModule {}
