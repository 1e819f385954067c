import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { DatabaseIdentityService, describeIdentity, IdentityStatus } from '../database/database-identity.service';
import { CliCommand, JsonOption } from './cli-command';
import { CliUsageError } from './output';

function describe(s: IdentityStatus): string {
  const gate =
    s.gate === 'open'
      ? 'sends open: this is the database the ledger recorded'
      : s.gate === 'held'
        ? `sends HELD since ${s.sendsHeldSince}: adopt this database once the copy it came from is stopped`
        : 'FORKED: not the database the ledger recorded; a worker will make every open load lookup-first when it sees it';
  return [
    gate,
    `recorded: ${s.recorded ? describeIdentity(s.recorded) : 'none'}`,
    `live:     ${describeIdentity(s.live)}`,
    `last fork: ${
      s.lastFork ? `${s.lastFork.kind} at ${s.lastFork.detectedAt} (was ${s.lastFork.previousIdentity ?? 'unrecorded'})` : 'none'
    }`,
  ].join('\n');
}

@SubCommand({ name: 'status', description: 'is this the database the ledger ran on; are sends held after a restore or clone' })
export class DatabaseStatusCommand extends CliCommand {
  constructor(private readonly identity: DatabaseIdentityService) {
    super();
  }

  async run(_args: string[], opts: JsonOption): Promise<void> {
    await this.show(opts, () => this.identity.status(), describe);
  }
}

@SubCommand({
  name: 'adopt',
  description: 'after a restore or clone: confirm this database is the ledger now (the copy it came from is stopped) so held sends resume',
})
export class DatabaseAdoptCommand extends CliCommand {
  constructor(private readonly identity: DatabaseIdentityService) {
    super();
  }

  @Option({
    flags: '--reason <text>',
    required: true,
    description: 'why, for the audit trail (e.g. "restored from the 02:00 dump; old server is off")',
  })
  parseReason(value: string): string {
    return value;
  }

  async run(_args: string[], opts: JsonOption & { reason: string }): Promise<void> {
    const reason = opts.reason.trim();
    if (reason === '' || reason.length > 1000) throw new CliUsageError('--reason must be 1 to 1000 characters');
    await this.show(
      opts,
      () => this.identity.adopt(this.db.actor(), reason),
      (status) => `adopted: loads are sent again (each after its lookup)\n${describe(status)}`,
    );
  }
}

@Command({
  name: 'database',
  description: 'fork safety: the database identity after a restore, a clone or a failover',
  subCommands: [DatabaseStatusCommand, DatabaseAdoptCommand],
})
export class DatabaseCommand extends CommandRunner {
  async run(): Promise<void> {
    this.command.help({ error: true });
  }
}
