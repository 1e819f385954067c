import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export const AUTOVACUUM_OFF =
  'autovacuum is off on this Postgres server: the queue tables (journal_unsealed, sync_jobs, webhook_deliveries) keep ' +
  'their dead rows and grow until VACUUM runs, and the read paths are planned without statistics. Turn it on ' +
  '(docs/operations.md, "Postgres settings the ledger expects").';

export const TEMPORARY_ALLOWED =
  "the service's database role may create temporary tables: one named like a ledger table comes first in the search " +
  "path and would stand in for it in the ledger's own functions and triggers (docs/design.md, invariant 11). Revoke " +
  'TEMPORARY on the database from PUBLIC and from this role, and do not run the service as a superuser ' +
  '(docs/operations.md, "Database roles").';

/**
 * Says once, at start, when the server runs without autovacuum (docs/operations.md, "Postgres settings the ledger
 * expects"), and when the service's role may make temporary tables ("Database roles"). Every answer is the same either
 * way; the warnings are for whoever runs the service for months.
 */
@Injectable()
export class ServerSettingsCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('ServerSettings');

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      const [{ autovacuum, temporary }] = await this.ds.query<Array<{ autovacuum: string; temporary: boolean }>>(
        `SELECT current_setting('autovacuum') AS autovacuum,
                has_database_privilege(current_user, current_database(), 'TEMPORARY') AS temporary`,
      );
      if (autovacuum === 'off') this.logger.warn(AUTOVACUUM_OFF);
      if (temporary) this.logger.warn(TEMPORARY_ALLOWED);
    } catch {
      // The database is not answering: DatabaseOutage logs that, and the setting can wait for the next start.
    }
  }
}
