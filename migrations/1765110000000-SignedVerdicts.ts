import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Verification results signed (docs/audit.md): each row of audit_verifications keeps the exact text that was
 * signed and its Ed25519 signature, so /v1/audit/verify/latest and /metrics can tell a verdict the verifier gave
 * from one the owner of the tables wrote. Nullable: rows recorded before this release have neither, and are
 * answered as unsigned. Only new columns without defaults: no rewrite of the table.
 */
export class SignedVerdicts1765110000000 implements MigrationInterface {
  name = 'SignedVerdicts1765110000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_verifications ADD COLUMN document text, ADD COLUMN signature text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_verifications DROP COLUMN document, DROP COLUMN signature`);
  }
}
