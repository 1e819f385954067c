import { Inject } from '@nestjs/common';
import { UUID } from '../common/paging';
import { CommandRunner, Option } from 'nest-commander';
import { CliDatabase } from './cli-database';
import { emit } from './output';

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

  /** Connects, runs `act`, and prints its result: one JSON document with --json, else `text` of it for a person. */
  protected async show<T>(opts: JsonOption, act: () => Promise<T>, text: (result: T) => string): Promise<void> {
    await this.db.connect();
    const result = await act();
    emit(opts.json === true, result, () => text(result));
  }
}

/** Postgres would answer a malformed uuid with a syntax error; the operator should read "not found". */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
