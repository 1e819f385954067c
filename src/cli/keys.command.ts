import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ApiKeysService, ApiKeyView, BOOTSTRAP_NAME } from '../auth/api-keys.service';
import { Scope, SCOPES } from '../auth/scopes';
import { notFound } from '../common/errors';
import { CliCommand, isUuid, JsonOption } from './cli-command';
import { CliUsageError, table } from './output';

/** installBootstrapKey revokes every other key of this name at each start: a CLI key must not take it. */
const RESERVED_NAME = BOOTSTRAP_NAME;

/**
 * A generated key's prefix is "ckl_" plus 8 of its 43 random characters, safe to show. The bootstrap key's
 * prefix is the first 12 characters of ADMIN_API_KEY, most of a 16-character secret: never printed.
 */
function listed(k: ApiKeyView): ApiKeyView {
  return k.name !== RESERVED_NAME && k.prefix.startsWith('ckl_') ? k : { ...k, prefix: '(configured)' };
}

@SubCommand({ name: 'create', description: 'create an API key; the key is printed once and never again' })
export class KeysCreateCommand extends CliCommand {
  constructor(private readonly keys: ApiKeysService) {
    super();
  }

  @Option({ flags: '--name <name>', description: 'who uses the key, e.g. "billing-prod"', required: true })
  parseName(value: string): string {
    return value;
  }

  @Option({ flags: '--scopes <list>', description: `comma-separated: ${SCOPES.join(', ')}`, required: true })
  parseScopes(value: string): string[] {
    return value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  async run(_args: string[], opts: JsonOption & { name: string; scopes: string[] }): Promise<void> {
    const name = opts.name.trim();
    if (name === '' || name.length > 100) throw new CliUsageError('--name must be 1 to 100 characters');
    if (name === RESERVED_NAME) throw new CliUsageError(`--name "${RESERVED_NAME}" is reserved for ADMIN_API_KEY`);
    const unknown = opts.scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (opts.scopes.length === 0 || unknown.length > 0) {
      throw new CliUsageError(
        `--scopes must list one or more of ${SCOPES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
      );
    }
    await this.show(
      opts,
      () => this.keys.create(name, [...new Set(opts.scopes)] as Scope[], this.db.actor()),
      (created) =>
        `created API key ${created.id} "${created.name}" with scopes ${created.scopes.join(',')}\n` +
        `key (shown once; store it now, it cannot be shown again):\n${created.key}`,
    );
  }
}

@SubCommand({ name: 'list', description: 'list API keys (ids, names, scopes; never the keys)' })
export class KeysListCommand extends CliCommand {
  constructor(private readonly keys: ApiKeysService) {
    super();
  }

  async run(_args: string[], opts: JsonOption): Promise<void> {
    await this.show(
      opts,
      async () => ({ data: (await this.keys.list()).map(listed) }),
      ({ data }) =>
        data.length === 0
          ? 'no API keys'
          : table(
              ['ID', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'REVOKED'],
              data.map((k) => [k.id, k.name, k.prefix, k.scopes.join(','), k.createdAt, k.revokedAt ?? '-']),
            ),
    );
  }
}

@SubCommand({
  name: 'revoke',
  arguments: '<id>',
  description: 'revoke an API key by id (running instances drop it when their key cache expires, within seconds)',
})
export class KeysRevokeCommand extends CliCommand {
  constructor(private readonly keys: ApiKeysService) {
    super();
  }

  async run([id]: string[], opts: JsonOption): Promise<void> {
    if (!isUuid(id)) throw notFound(`api key ${id}`);
    await this.show(
      opts,
      async () => {
        const result = await this.keys.revoke(id, this.db.actor());
        return { ...result, ...listed(result) };
      },
      (revoked) =>
        `revoked API key ${revoked.id} "${revoked.name}" at ${revoked.revokedAt}` +
        ' (running instances stop accepting it when their key cache expires, within seconds)' +
        revoked.warnings.map((w) => `\nwarning: ${w}`).join(''),
    );
  }
}

@Command({
  name: 'keys',
  description: 'manage API keys',
  subCommands: [KeysCreateCommand, KeysListCommand, KeysRevokeCommand],
})
export class KeysCommand extends CommandRunner {
  async run(): Promise<void> {
    // `keys` alone is a usage error: show what it takes (commander exits 1, mapped to EXIT.usage).
    this.command.help({ error: true });
  }
}
