import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { currentReadPlan, FinalSample, lsnValue } from './read-plan';
import { ReadReplica } from './read-replica';

/**
 * The one read-connection provider of the ledger's read paths (docs/operations.md, "Read replicas"): a query goes to
 * the replica when the request runs under an auditor-read plan that still says so, else to the primary. Stores call
 * `query` for what an auditor may read from a copy, and their own DataSource or transaction for everything that
 * must be fresh (idempotency, intake, operator actions, sync): those never see a plan.
 */
@Injectable()
export class LedgerReads {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    /** Null: reads only ever go to the primary (the unit tests' stores). */
    @Optional() @Inject(ReadReplica) private readonly replica?: ReadReplica,
  ) {}

  async query<T = unknown[]>(sql: string, args?: unknown[]): Promise<T> {
    const plan = currentReadPlan();
    if (plan?.source === 'replica' && this.replica) {
      const rows = await this.replica.query(plan, sql, args);
      if (rows !== null) return rows as T;
    }
    return this.ds.query(sql, args);
  }

  /** True while this request may still be served by the replica (the clock then proves finality for it, below). */
  onReplica(): boolean {
    return currentReadPlan()?.source === 'replica';
  }

  /**
   * This request's answer claims everything up to a cut final on the strength of `sample`: the replica may serve it only
   * once it has replayed the sample's LSN, on its timeline, within LEDGER_FINAL_WAIT_MS from now (docs/time.md).
   */
  requireFinal(sample: FinalSample): void {
    const plan = currentReadPlan();
    if (!plan) return;
    const had = plan.required;
    if (!had || had.timeline !== sample.timeline || lsnValue(sample.lsn) > lsnValue(had.lsn)) plan.required = sample;
    if (!had && this.replica) plan.deadline = this.replica.deadlineFromNow();
  }
}
