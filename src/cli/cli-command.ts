import { Inject } from '@nestjs/common';
import { UUID } from '../common/paging';
import { CommandRunner, Option } from 'nest-commander';
import { CliDatabase } from './cli-database';

export interface JsonOption {
  json?: boolean;
}

/** Every command takes `--json`; nest-commander finds option methods on the prototype chain. */
export abstract class CliCommand extends CommandRunner {
  /**
   * Every command's database, connected by its run() before the first query. Injected here, on a property (Nest's
   * way for a base class), so that each command's constructor names only what it uses besides.
   */
  @Inject(CliDatabase) protected readonly db: CliDatabase;

  @Option({ flags: '--json', description: 'print one JSON document instead of text (for scripts)' })
  parseJson(): boolean {
    return true;
  }
}

/** Postgres would answer a malformed uuid with a syntax error; the operator should read "not found". */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
