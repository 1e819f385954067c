import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Periodic } from '../common/periodic';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { withJobLock } from '../database/job-lock';
import { dataSourceUrl } from '../database/data-source';
import { AUDIT_KEYS, AuditKeys, signatureMatches } from './audit-keys';
import { AuditStore } from './audit.store';
import { AuditVerifierService, VerifyResult } from './audit-verifier.service';

export type VerifyTrigger = 'schedule' | 'manual';
export type RecordedVerification = VerifyResult & { trigger: VerifyTrigger; finishedAt: string };

/** One instance at a time runs the scheduled verification (database/job-lock.ts, held for the run). */
const VERIFY_LOCK_KEY = 7_310_412_014;

/**
 * Runs the complete verifier on a schedule (AUDIT_VERIFY_INTERVAL_MS, one instance at a time) and on demand, and
 * keeps every result in audit_verifications, which /v1/audit/verify/latest and /metrics read. On demand, requests
 * that arrive while a run is going share the next run, so a burst of auditors costs one more run, not one each.
 */
@Injectable()
export class AuditVerifications {
  private readonly logger = new Logger(AuditVerifications.name);
  private running: Promise<RecordedVerification> | null = null;
  private next: Promise<RecordedVerification> | null = null;
  private readonly periodic = new Periodic(
    () => this.runScheduled(),
    (m) => this.logger.warn(`scheduled verification failed to run: ${m}`),
  );

  constructor(
    private readonly store: AuditStore,
    private readonly verifier: AuditVerifierService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AUDIT_KEYS) private readonly keys: AuditKeys,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  /** The schedule, started by the worker composition (worker/worker.module.ts); runNow() works without it. */
  startSchedule(): void {
    if (this.config.audit.verifyIntervalMs > 0) this.periodic.start(this.config.audit.verifyIntervalMs);
  }

  /** Stops the schedule and waits for the runs in progress (scheduled or on demand). */
  async stop(): Promise<void> {
    await this.periodic.stop();
    await Promise.allSettled([this.running, this.next]);
  }

  /** A fresh verification (started after this call), shared with the other requests waiting for one. */
  runNow(): Promise<RecordedVerification> {
    if (!this.running) return this.start('manual');
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.start('manual');
      });
    return this.next;
  }

  /**
   * The newest verification, as the verifier signed it. A row whose signature does not verify (rewritten or made
   * up by the owner of the tables, or recorded before verdicts were signed) is answered as a failed verification
   * naming it, never as what it claims.
   */
  async latest(): Promise<RecordedVerification | null> {
    const row = await this.store.latestVerification<RecordedVerification>();
    if (!row) return null;
    if (row.document !== null && row.signature !== null && signatureMatches(this.keys.publicKey, row.document, row.signature)) {
      const { ledgerVerification, ...signed } = JSON.parse(row.document) as RecordedVerification & { ledgerVerification: number };
      if (ledgerVerification === 1) return signed;
    }
    const finding = {
      check: 'verdict',
      row: `verification#${row.id}`,
      message:
        'the stored verification result is not signed by ' +
        `this ledger's key ${this.keys.keyId} (rewritten in the database, or recorded before results were signed): ` +
        'run GET /v1/audit/verify',
    };
    return { ...row.result, ok: false, brokenAt: finding.row, reason: finding.message, findings: [finding] };
  }

  private start(trigger: VerifyTrigger): Promise<RecordedVerification> {
    const run = this.verifier
      .verify()
      .then((r) => this.record(trigger, r))
      .finally(() => {
        if (this.running === run) this.running = null;
      });
    this.running = run;
    return run;
  }

  private async runScheduled(): Promise<void> {
    // A lost lock only means two instances may verify at once: read-only, each verdict recorded. Logged by the lock.
    await withJobLock(dataSourceUrl(this.ds), VERIFY_LOCK_KEY, 'verifier', async () => {
      const r = await (this.running ?? this.start('schedule'));
      if (!r.ok) this.logger.error(`ledger verification found ${r.findings.length} problem(s); first: ${r.brokenAt}: ${r.reason}`);
    });
  }

  private async record(trigger: VerifyTrigger, r: VerifyResult): Promise<RecordedVerification> {
    const recorded: RecordedVerification = { ...r, trigger, finishedAt: new Date().toISOString() };
    // Signed with the checkpoint key, marked so that no verdict reads as a checkpoint and no checkpoint as a verdict.
    const document = JSON.stringify({ ledgerVerification: 1, ...recorded });
    await this.store.recordVerification({
      trigger,
      startedAt: r.startedAt,
      finishedAt: recorded.finishedAt,
      ok: r.ok,
      checkedTransactions: r.checkedTransactions,
      findingsCount: r.findings.length,
      result: recorded,
      document,
      signature: this.keys.sign(document),
    });
    return recorded;
  }
}
