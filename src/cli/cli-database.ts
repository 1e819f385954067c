import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { pendingMigrationCount } from '../database/data-source';
import { AuditActor, cliActor } from '../audit-trail/audit-trail';
import { AUDIT_KEYS, AuditKeys } from '../ledger/audit-keys';
import { CliFailure } from './output';

/**
 * The CLI's DataSource is built with manualInitialization: `--help` and argument errors never touch the
 * database, and an unreachable one fails at once instead of after TypeOrmModule's retry loop.
 * Every command calls connect() before its first query.
 */
@Injectable()
export class CliDatabase {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(AUDIT_KEYS) private readonly keys: AuditKeys | null,
  ) {}

  /** Who acts, for the audit trail; warns when the CLI holds no audit key (its events then carry no MAC). */
  actor(): AuditActor {
    return cliActor(this.keys !== null);
  }

  async connect(): Promise<DataSource> {
    if (!this.ds.isInitialized) await this.ds.initialize();
    // The CLI never migrates on its own: schema changes belong to `migration:run` / the compose `migrate` job.
    const pending = await pendingMigrationCount(this.ds);
    if (pending > 0) {
      throw new CliFailure(`${pending} migration(s) are not applied to this database: run "npm run migration:run" first`);
    }
    return this.ds;
  }
}
