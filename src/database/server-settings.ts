import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export const AUTOVACUUM_OFF =
  'autovacuum is off on this Postgres server: the queue tables (journal_unsealed, sync_jobs, webhook_deliveries) keep ' +
  'their dead rows and grow until VACUUM runs, and the read paths are planned without statistics. Turn it on ' +
  '(docs/operations.md, "Postgres settings the ledger expects").';

/**
 * Says once, at start, when the server runs without autovacuum (docs/operations.md, "Postgres settings the ledger
 * expects"). Every answer is the same either way; the warning is for whoever runs the service for months.
 */
@Injectable()
export class ServerSettingsCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('ServerSettings');

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      const [{ autovacuum }] = await this.ds.query<Array<{ autovacuum: string }>>(`SELECT current_setting('autovacuum') AS autovacuum`);
      if (autovacuum === 'off') this.logger.warn(AUTOVACUUM_OFF);
    } catch {
      // The database is not answering: DatabaseOutage logs that, and the setting can wait for the next start.
    }
  }
}
