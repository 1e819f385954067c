import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { LedgerCheck } from './ledger-invariants';

/** What /metrics reads of the audit from the database: the sealing queue and the newest checkpoint. */
export interface AuditGauges {
  unsealed: number;
  checkpoint: string | null;
}

/**
 * audit_verifications: the recorded results of the ledger verifier (docs/design.md, "Persistence"), and the
 * verifier's invariant checks (their SQL is ledger-invariants.ts).
 */
@Injectable()
export class AuditStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** The newest verification as stored: its result and the signed document (null on rows from before signing). */
  async latestVerification<T>(): Promise<{ id: string; result: T; document: string | null; signature: string | null } | null> {
    const rows: Array<{ id: string; result: T; document: string | null; signature: string | null }> = await this.ds.query(
      `SELECT id, result, document, signature FROM audit_verifications ORDER BY id DESC LIMIT 1`,
    );
    return rows[0] ?? null;
  }

  async recordVerification(v: {
    trigger: string;
    startedAt: string;
    finishedAt: string;
    ok: boolean;
    checkedTransactions: number;
    findingsCount: number;
    result: unknown;
    document: string;
    signature: string;
  }): Promise<void> {
    await this.ds.query(
      `INSERT INTO audit_verifications
         (trigger, started_at, finished_at, ok, checked_transactions, findings_count, result, document, signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        v.trigger,
        v.startedAt,
        v.finishedAt,
        v.ok,
        v.checkedTransactions,
        v.findingsCount,
        JSON.stringify(v.result),
        v.document,
        v.signature,
      ],
    );
  }

  async gauges(): Promise<AuditGauges> {
    const [a]: AuditGauges[] = await this.ds.query(
      `SELECT (SELECT count(*)::int FROM journal_unsealed) AS unsealed, (SELECT max(seq) FROM audit_checkpoints) AS checkpoint`,
    );
    return a;
  }

  /** The rows one docs/design.md invariant check finds wrong (ledger-invariants.ts), at most `limit`. */
  async violations(check: LedgerCheck, limit: number): Promise<Array<{ row: string }>> {
    return this.ds.query(check.sql(limit));
  }
}
