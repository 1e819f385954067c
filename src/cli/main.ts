import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli.module';
import { CliUsageError, EXIT, reportError } from './output';

/**
 * `npm run cli -- <command>`: operator commands against an existing Postgres (DATABASE_URL), never the
 * embedded one, since an operator tool that silently started an empty database would report a clean ledger.
 * Exit codes are in output.ts (EXIT).
 */
const HELP_ONLY = (args: string[]) => args.length === 0 || args[0] === 'help' || args.some((a) => a === '-h' || a === '--help');
/** Stand-in for help output only: the DataSource is never initialised without a command to run. */
const NO_DATABASE = 'postgres://unset.invalid/none';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const url = process.env.DATABASE_URL?.trim() || null;
  const auditSealKey = process.env.AUDIT_SEAL_KEY?.trim() || null;
  if (url !== null && (!/^postgres(ql)?:\/\//.test(url) || !URL.canParse(url))) {
    return reportError(new CliUsageError('DATABASE_URL must be a postgres:// or postgresql:// URL'), json, null);
  }
  if (url === null && !HELP_ONLY(args)) {
    process.stderr.write(
      json
        ? `${JSON.stringify({ error: { code: 'usage', message: 'DATABASE_URL is not set' } })}\n`
        : 'error: DATABASE_URL is not set. The operator CLI works only against an existing Postgres, e.g.\n' +
            '  DATABASE_URL=postgres://user:password@host:5432/card_ledger npm run cli -- verify\n',
    );
    return EXIT.usage;
  }
  const password = url ? decodeURIComponent(new URL(url).password) || null : null;
  let exit: number = EXIT.ok;
  await CommandFactory.run(CliModule.forRoot({ databaseUrl: url ?? NO_DATABASE, auditSealKey }), {
    logger: ['error'],
    serviceErrorHandler: (e: Error) => {
      // Commander already printed its message (unknown option, missing argument, help).
      const commander = e as Error & { code?: unknown; exitCode?: unknown };
      if (typeof commander.code === 'string' && commander.code.startsWith('commander.')) {
        exit = commander.exitCode === 0 ? EXIT.ok : EXIT.usage;
        return;
      }
      exit = reportError(e, json, password);
    },
  });
  return Math.max(exit, Number(process.exitCode ?? 0));
}

main().then(
  (code) => {
    process.exitCode = code;
    // Whatever handle a library leaves open, a finished command must end (cron and scripts wait on it).
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (e: unknown) => {
    process.exitCode = reportError(e, process.argv.includes('--json'), null);
  },
);
