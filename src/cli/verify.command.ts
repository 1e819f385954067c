import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'nest-commander';
import { readCheckpointFile } from '../ledger/audit-checkpoints';
import { AuditVerifierService, VerifyOptions } from '../ledger/audit-verifier.service';
import { PartitionsStore } from '../ledger/partitions/partitions.store';
import { CliCommand, JsonOption } from './cli-command';
import { CliUsageError, emit, EXIT } from './output';

type VerifyOpts = JsonOption & { publicKey?: string; checkpoints?: string; archive?: string[] };

/** A table name as `verify --archive` takes it: schema.table, nothing to quote. */
const TABLE = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;

/**
 * Exit code 0 = the ledger verifies, 1 = it does not (the first finding is printed first): fit for a cron alert.
 * With AUDIT_SEAL_KEY every seal's MAC is checked too. An auditor without that key passes the published public
 * key and a checkpoint file (docs/audit.md): the chain is recomputed from the first seal and held to each.
 */
@Command({
  name: 'verify',
  description: 'verify the whole ledger (seal chain, checkpoints, balances, history); exit 1 naming the first problem',
})
export class VerifyCommand extends CliCommand {
  constructor(
    private readonly verifier: AuditVerifierService,
    private readonly partitions: PartitionsStore,
  ) {
    super();
  }

  @Option({ flags: '--public-key <file>', description: 'the Ed25519 public key (PEM) that signs checkpoints' })
  parsePublicKey(value: string): string {
    return value;
  }

  @Option({ flags: '--checkpoints <file>', description: 'signed checkpoints, one JSON line each (DATA_DIR/audit-checkpoints.jsonl)' })
  parseCheckpoints(value: string): string {
    return value;
  }

  @Option({
    flags: '--archive <schema.table>',
    description: 'an archived journal_entries table restored under another name, to recompute its month (repeatable)',
  })
  parseArchive(value: string, previous: string[] = []): string[] {
    if (!TABLE.test(value)) throw new CliUsageError('--archive must name a table as schema.table (lower case)');
    return [...previous, value];
  }

  async run(_args: string[], opts: VerifyOpts): Promise<void> {
    const given: VerifyOptions = { archives: opts.archive ?? [] };
    try {
      if (opts.publicKey) given.publicKey = createPublicKey(readFileSync(opts.publicKey, 'utf8'));
      if (opts.checkpoints) {
        const file = readCheckpointFile(opts.checkpoints);
        if (file.unreadable.length) throw new CliUsageError(`${opts.checkpoints}: line ${file.unreadable[0]} is not a signed checkpoint`);
        given.checkpoints = file.checkpoints;
      }
    } catch (e) {
      if (e instanceof CliUsageError) throw e;
      throw new CliUsageError(`cannot read ${opts.publicKey ?? opts.checkpoints}: ${e instanceof Error ? e.message : String(e)}`);
    }
    await this.db.connect();
    // A table of another shape would fail inside the chain walk as a raw SQL error: named here instead.
    for (const t of given.archives ?? []) {
      const problem = await this.partitions.entriesShapeProblem(t);
      if (problem) throw new CliUsageError(`--archive: ${problem}`);
    }
    const r = await this.verifier.verify(given);
    const macs = r.keyed ? ', every MAC checked' : ', MACs not checked (no AUDIT_SEAL_KEY)';
    const held = `${r.checkpoints.checked} signed checkpoint(s) held${macs}`;
    emit(opts.json === true, r, () =>
      r.ok
        ? `hash chain ok: ${r.checkedTransactions} transactions verified, ${held}` +
          (r.unsealedTransactions ? `, ${r.unsealedTransactions} not sealed yet (the sealer runs in the service)` : '') +
          `; audit trail ok: ${r.checkedAuditEvents} event(s)`
        : [
            r.seq !== undefined
              ? `hash chain BROKEN at journal transaction ${r.brokenAt} (seal #${r.seq}): ${r.reason}`
              : `ledger BROKEN at ${r.brokenAt}: ${r.reason}`,
            `${r.checkedTransactions} transactions verified before it; ${held}`,
            ...r.findings.map((f) => `  ${f.check}: ${f.row}: ${f.message}`),
          ].join('\n'),
    );
    if (!r.ok) process.exitCode = EXIT.refused;
  }
}
