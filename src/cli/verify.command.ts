import { Command } from 'nest-commander';
import { ChainVerifierService } from '../ledger/chain-verifier.service';
import { CliCommand, JsonOption } from './cli-command';
import { CliDatabase } from './cli-database';
import { emit, EXIT } from './output';

/** Exit code 0 = the chain holds, 1 = broken (the first broken link is printed): fit for a cron alert. */
@Command({ name: 'verify', description: 'walk the journal hash chain; exit 1 and name the first broken link if it is broken' })
export class VerifyCommand extends CliCommand {
  constructor(private readonly db: CliDatabase, private readonly verifier: ChainVerifierService) {
    super();
  }

  async run(_args: string[], opts: JsonOption): Promise<void> {
    await this.db.connect();
    const result = await this.verifier.verify();
    emit(opts.json === true, result, () => result.ok
      ? `hash chain ok: ${result.checkedTransactions} transactions verified` +
        (result.unsealedTransactions ? `, ${result.unsealedTransactions} not sealed yet (the sealer runs in the service)` : '')
      : `hash chain BROKEN at journal transaction ${result.brokenAt} (seal #${result.seq}): ${result.reason}\n` +
        `${result.checkedTransactions} transactions verified before it`);
    if (!result.ok) process.exitCode = EXIT.refused;
  }
}
