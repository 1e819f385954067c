import { DynamicModule, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { InjectCommander } from 'nest-commander';
import { ApiKeysService } from '../auth/api-keys.service';
import { APP_CONFIG, loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source';
import { DatabaseIdentityService } from '../database/database-identity.service';
import { AuditTrail } from '../audit-trail/audit-trail.service';
import { AUDIT_KEYS, AuditKeys } from '../ledger/audit-keys';
import { AuditVerifierService } from '../ledger/audit-verifier.service';
import { LedgerClock } from '../ledger/ledger-clock';
import { LedgerService } from '../ledger/ledger.service';
import { MetricsService } from '../metrics/metrics.service';
import { SettlementService } from '../sync/settlement.service';
import { SyncJobsStore } from '../sync/sync-jobs.store';
import { CliDatabase } from './cli-database';
import { DatabaseAdoptCommand, DatabaseCommand, DatabaseStatusCommand } from './database.command';
import { KeysCommand, KeysCreateCommand, KeysListCommand, KeysRevokeCommand } from './keys.command';
import { ReconciliationCommand } from './reconciliation.command';
import { RequeueCommand } from './requeue.command';
import { VerifyCommand } from './verify.command';

/** The slice of commander's Command used here (the top-level `commander` package is another major version). */
interface CommanderNode {
  readonly commands: readonly CommanderNode[];
  name(name: string): CommanderNode;
  description(text: string): CommanderNode;
  exitOverride(): CommanderNode;
}

/**
 * nest-commander sets exitOverride on the root only; subcommand parse errors would call process.exit(1),
 * which reads as "verify found a broken chain". Throwing instead lets main.ts map them to EXIT.usage.
 */
@Injectable()
class CommanderSetup implements OnApplicationBootstrap {
  constructor(@InjectCommander() private readonly root: CommanderNode) {}

  onApplicationBootstrap(): void {
    this.root.name('cli').description('card-ledger operator commands, against DATABASE_URL (run as: npm run cli -- <command>)');
    const walk = (c: CommanderNode): void => {
      c.exitOverride();
      c.commands.forEach(walk);
    };
    walk(this.root);
  }
}

/**
 * Only what the commands use: no HTTP, no sync worker, no sealer timer, no embedded Postgres.
 * SettlementService's dependencies are all plain providers, so the requeue path is the service's own.
 */
@Module({})
export class CliModule {
  static forRoot(databaseUrl: string): DynamicModule {
    const base = dataSourceOptions(databaseUrl, 2);
    return {
      module: CliModule,
      imports: [TypeOrmModule.forRoot({
        ...base,
        extra: { ...base.extra, application_name: 'card-ledger-cli' },
        manualInitialization: true,
      })],
      providers: [
        CommanderSetup, CliDatabase,
        ApiKeysService, AuditVerifierService, LedgerService, LedgerClock,
        // The seals' MACs are checked when AUDIT_SEAL_KEY is in the environment; without it, the chain and checkpoints only.
        { provide: AUDIT_KEYS, useFactory: () => (process.env.AUDIT_SEAL_KEY ? new AuditKeys(process.env.AUDIT_SEAL_KEY.trim()) : null) },
        SyncJobsStore, MetricsService, SettlementService,
        KeysCommand, KeysCreateCommand, KeysListCommand, KeysRevokeCommand, VerifyCommand, RequeueCommand, ReconciliationCommand,
        AuditTrail, DatabaseIdentityService, DatabaseCommand, DatabaseStatusCommand, DatabaseAdoptCommand,
        // The service's settings, for the few the commands read; the CLI itself needs only DATABASE_URL.
        { provide: APP_CONFIG, useFactory: () => loadConfig({}) },
      ],
    };
  }
}
