import { Inject, Injectable, Logger } from '@nestjs/common';
import { serviceActor } from '../audit-trail/audit-trail';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ReconciliationService } from './reconciliation.service';

/**
 * Runs reconciliation every RECONCILE_INTERVAL_MS where the worker runs: the worker composition
 * (worker/worker.module.ts) starts and stops it. Every such instance keeps the timer; the run lock lets one of
 * them work and the others skip that tick. The first run comes one interval after the start, so a restart loop
 * never turns into a lookup storm.
 */
@Injectable()
export class ReconciliationScheduler {
  private readonly logger = new Logger(ReconciliationScheduler.name);
  readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly runs: ReconciliationService,
  ) {
    this.intervalMs = config.reconciliation.intervalMs;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const result = await this.runs.run('schedule', serviceActor('reconciliation-scheduler'));
      if (result === null) this.logger.debug('reconciliation skipped: another run holds the lock');
      else if (result.run.findingsCount > 0)
        this.logger.warn(`reconciliation run ${result.run.id}: ${result.run.findingsCount} finding(s)`);
    } catch (e) {
      // The database is unreachable or restarting: the next tick tries again.
      this.logger.error(`reconciliation run could not start: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.running = false;
    }
  }
}
