import { UUID } from '../common/paging';
import { CommandRunner, Option } from 'nest-commander';

export interface JsonOption {
  json?: boolean;
}

/** Every command takes `--json`; nest-commander finds option methods on the prototype chain. */
export abstract class CliCommand extends CommandRunner {
  @Option({ flags: '--json', description: 'print one JSON document instead of text (for scripts)' })
  parseJson(): boolean {
    return true;
  }
}

/** Postgres would answer a malformed uuid with a syntax error; the operator should read "not found". */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
