import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { serviceActor } from '../audit-trail/audit-trail';
import { APP_CONFIG, AppConfig, ConfigError } from '../config/app-config';
import { ReconciliationService } from './reconciliation.service';

const HOUR_MS = 3600_000;
const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 7 * 24 * HOUR_MS;

/**
 * RECONCILE_INTERVAL_MS (default one hour). Read here rather than in app-config.ts, which this feature does
 * not own; a malformed value still stops the start with a ConfigError naming it.
 */
export function reconcileIntervalMs(env: Record<string, string | undefined>): number {
  const raw = env.RECONCILE_INTERVAL_MS?.trim();
  if (raw === undefined || raw === '') return HOUR_MS;
  if (!/^\d+$/.test(raw) || Number(raw) < MIN_INTERVAL_MS || Number(raw) > MAX_INTERVAL_MS) {
    throw new ConfigError([`RECONCILE_INTERVAL_MS must be an integer from ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS} (got "${raw}")`]);
  }
  return Number(raw);
}

/**
 * Runs reconciliation every interval in instances that sync (ROLE all or worker). Every instance keeps the
 * timer; the run lock lets one of them work and the others skip that tick. The first run comes one
 * interval after the start, so a restart loop never turns into a lookup storm.
 */
@Injectable()
export class ReconciliationScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ReconciliationScheduler.name);
  readonly intervalMs = reconcileIntervalMs(process.env);
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig, private readonly runs: ReconciliationService) {}

  onApplicationBootstrap(): void {
    if (this.config.role !== 'api') this.start();
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const result = await this.runs.run('schedule', serviceActor('reconciliation-scheduler'));
      if (result === null) this.logger.debug('reconciliation skipped: another run holds the lock');
      else if (result.run.findingsCount > 0) this.logger.warn(`reconciliation run ${result.run.id}: ${result.run.findingsCount} finding(s)`);
    } catch (e) {
      // The database is unreachable or restarting: the next tick tries again.
      this.logger.error(`reconciliation run could not start: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.running = false;
    }
  }
}
