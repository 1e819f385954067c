import { DynamicModule, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { InjectCommander } from 'nest-commander';
import { AuditTrailModule } from '../audit-trail/audit-trail.module';
import { AuthModule } from '../auth/auth.module';
import { CardLoadsModule } from '../card-loads/card-loads.module';
import { loadConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { dataSourceOptions } from '../database/data-source';
import { DatabaseModule } from '../database/database.module';
import { AuditKeysModule } from '../ledger/audit-keys.module';
import { LedgerModule } from '../ledger/ledger.module';
import { MetricsModule } from '../metrics/metrics.module';
import { SettlementModule } from '../sync/settlement.module';
import { ArchiveCommand } from './archive.command';
import { CliDatabase } from './cli-database';
import { DatabaseAdoptCommand, DatabaseCommand, DatabaseStatusCommand } from './database.command';
import { KeysCommand, KeysCreateCommand, KeysListCommand, KeysRevokeCommand } from './keys.command';
import { ReconciliationCommand } from './reconciliation.command';
import { RequeueCommand } from './requeue.command';
import { VerifyCommand } from './verify.command';

export interface CliSettings {
  databaseUrl: string;
  /** AUDIT_SEAL_KEY, trimmed; null when unset. */
  auditSealKey: string | null;
}

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
 * The feature modules the commands use, and no process role: no HTTP listener, no worker, no timers (feature modules
 * own none; docs/design.md, "Processes and roles"), no embedded Postgres. The requeue path is SettlementService's own.
 */
@Module({})
export class CliModule {
  /** `settings`: what main.ts read from the environment at the CLI's start (nothing reads it later). */
  static forRoot(settings: CliSettings): DynamicModule {
    const base = dataSourceOptions(settings.databaseUrl, 2);
    return {
      module: CliModule,
      imports: [
        TypeOrmModule.forRoot({ ...base, extra: { ...base.extra, application_name: 'card-ledger-cli' }, manualInitialization: true }),
        // The service's settings at their defaults, for the few the commands read; the CLI itself needs only DATABASE_URL.
        ConfigModule.register(loadConfig({})),
        // The seals' MACs are checked when AUDIT_SEAL_KEY is given; without it, the chain and checkpoints only.
        AuditKeysModule.of(settings.auditSealKey),
        MetricsModule,
        DatabaseModule,
        AuditTrailModule,
        AuthModule,
        LedgerModule,
        CardLoadsModule,
        SettlementModule,
      ],
      providers: [
        CommanderSetup,
        CliDatabase,
        KeysCommand,
        KeysCreateCommand,
        KeysListCommand,
        KeysRevokeCommand,
        VerifyCommand,
        RequeueCommand,
        ReconciliationCommand,
        DatabaseCommand,
        DatabaseStatusCommand,
        DatabaseAdoptCommand,
        ArchiveCommand,
      ],
    };
  }
}
