import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Periodic } from '../common/periodic';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AuditVerifierService, VerifyResult } from './audit-verifier.service';

export type VerifyTrigger = 'schedule' | 'manual';
export type RecordedVerification = VerifyResult & { trigger: VerifyTrigger; finishedAt: string };

/** One instance at a time runs the scheduled verification (a session lock, held for the run). */
const VERIFY_LOCK_KEY = 7_310_412_014;

/**
 * Runs the complete verifier on a schedule (AUDIT_VERIFY_INTERVAL_MS, one instance at a time) and on demand, and
 * keeps every result in audit_verifications, which /v1/audit/verify/latest and /metrics read. On demand, requests
 * that arrive while a run is going share the next run, so a burst of auditors costs one more run, not one each.
 */
@Injectable()
export class AuditVerifications implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AuditVerifications.name);
  private running: Promise<RecordedVerification> | null = null;
  private next: Promise<RecordedVerification> | null = null;
  private readonly periodic = new Periodic(() => this.runScheduled(),
    (m) => this.logger.warn(`scheduled verification failed to run: ${m}`));

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly verifier: AuditVerifierService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.audit.verifyIntervalMs > 0) this.periodic.start(this.config.audit.verifyIntervalMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.periodic.stop();
    await Promise.allSettled([this.running, this.next]);
  }

  /** A fresh verification (started after this call), shared with the other requests waiting for one. */
  runNow(): Promise<RecordedVerification> {
    if (!this.running) return this.start('manual');
    this.next ??= this.running.catch(() => undefined).then(() => {
      this.next = null;
      return this.start('manual');
    });
    return this.next;
  }

  async latest(): Promise<RecordedVerification | null> {
    const rows: Array<{ result: RecordedVerification }> = await this.ds.query(
      `SELECT result FROM audit_verifications ORDER BY id DESC LIMIT 1`);
    return rows[0]?.result ?? null;
  }

  private start(trigger: VerifyTrigger): Promise<RecordedVerification> {
    const run = this.verifier.verify().then((r) => this.record(trigger, r)).finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async runScheduled(): Promise<void> {
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query(`SELECT pg_try_advisory_lock($1) AS locked`, [VERIFY_LOCK_KEY])) as Array<{ locked: boolean }>;
      if (!locked) return;
      try {
        const r = await (this.running ?? this.start('schedule'));
        if (!r.ok) this.logger.error(`ledger verification found ${r.findings.length} problem(s); first: ${r.brokenAt}: ${r.reason}`);
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [VERIFY_LOCK_KEY]);
      }
    } finally {
      await runner.release();
    }
  }

  private async record(trigger: VerifyTrigger, r: VerifyResult): Promise<RecordedVerification> {
    const recorded: RecordedVerification = { ...r, trigger, finishedAt: new Date().toISOString() };
    await this.ds.query(
      `INSERT INTO audit_verifications (trigger, started_at, finished_at, ok, checked_transactions, findings_count, result)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [trigger, r.startedAt, recorded.finishedAt, r.ok, r.checkedTransactions, r.findings.length, JSON.stringify(recorded)]);
    return recorded;
  }
}
