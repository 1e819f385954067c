import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/app-config';
import { startRuntime } from './runtime';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const runtime = await startRuntime(config);
  process.stdout.write(`card-ledger listening on ${runtime.url} (role ${config.role})\n`);
  if (config.role !== 'worker') process.stdout.write(`console: ${runtime.url}/console (sign in with an API key)\n`);
  if (runtime.generatedAdminKey) {
    process.stdout.write(
      `\n  No ADMIN_API_KEY was set, so this start generated one (shown once, valid until the next start):\n` +
        `    ${runtime.generatedAdminKey}\n\n`,
    );
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stdout.write(`${signal}: draining and stopping\n`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    runtime.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`card-ledger failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
