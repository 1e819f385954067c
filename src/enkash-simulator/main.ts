import { parseArgs } from 'node:util';
import { SIMULATOR_DEFAULTS } from '../config/app-config';
import { parseConfigPatch, SimulatorConfigPatch, SimulatorCredentials, SimulatorInputError } from './simulator-config';
import { startEnKashSimulator } from './simulator';

/**
 * `npm run enkash:simulator -- --port 4010 --seed 42 --duplicate-mode reject --latency-ms 20 --failure-rate 0.1
 *  --lookup-lag-ms 500 --encryption on --parent-balance 1000000.00`
 * Credentials come from the same ENKASH_* variables the service reads, so both ends agree without flags.
 */
const USAGE = `Usage: node dist/src/enkash-simulator/main.js [options]
  --port <n>                 default 4010          --host <addr>            default 127.0.0.1
  --seed <n>                 PRNG seed (42)        --duplicate-mode <m>     apply-again | reject | replay
  --latency-ms <n>           added to every call   --failure-rate <0..1>    random faults per card call
  --failure-faults <a,b>     faults drawn at random (see /__admin)
  --lookup-lag-ms <n>        record visibility lag --lookup-shape <s>       array | content | single
  --envelope <e>             code | response_code  --encryption <on|off>    default ENKASH_ENCRYPTION or off
  --token-ttl-seconds <n>    default 86399         --hang-ms <n>            timeout faults hold (30000)
  --parent-balance <rupees>  e.g. 1000000.00       --quiet                  no per-request lines`;

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4010' },
      host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string' },
      'duplicate-mode': { type: 'string' },
      'latency-ms': { type: 'string' },
      'failure-rate': { type: 'string' },
      'failure-faults': { type: 'string' },
      'lookup-lag-ms': { type: 'string' },
      'lookup-shape': { type: 'string' },
      envelope: { type: 'string' },
      encryption: { type: 'string' },
      'token-ttl-seconds': { type: 'string' },
      'hang-ms': { type: 'string' },
      'parent-balance': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const raw: Record<string, unknown> = {
    seed: values.seed,
    duplicateMode: values['duplicate-mode'],
    latencyMs: values['latency-ms'],
    failureRate: values['failure-rate'],
    failureFaults: values['failure-faults']?.split(',').map((s) => s.trim()),
    lookupLagMs: values['lookup-lag-ms'],
    lookupShape: values['lookup-shape'],
    envelope: values.envelope,
    encryption: values.encryption ?? process.env.ENKASH_ENCRYPTION,
    tokenTtlSeconds: values['token-ttl-seconds'],
    hangMs: values['hang-ms'],
    parentBalance: values['parent-balance'],
  };
  const config: SimulatorConfigPatch = parseConfigPatch(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SimulatorInputError('--port must be an integer from 0 to 65535');

  const env = (name: string): string | undefined => process.env[name]?.trim() || undefined;
  const credentials: SimulatorCredentials = {
    partnerId: env('ENKASH_PARTNER_ID') ?? SIMULATOR_DEFAULTS.partnerId,
    clientId: env('ENKASH_CLIENT_ID') ?? SIMULATOR_DEFAULTS.clientId,
    clientSecret: env('ENKASH_CLIENT_SECRET') ?? SIMULATOR_DEFAULTS.clientSecret,
    username: env('ENKASH_USERNAME') ?? SIMULATOR_DEFAULTS.username,
    password: env('ENKASH_PASSWORD') ?? SIMULATOR_DEFAULTS.password,
    companyId: env('ENKASH_COMPANY_ID') ?? SIMULATOR_DEFAULTS.companyId,
    cardAccountId: env('ENKASH_CARD_ACCOUNT_ID') ?? SIMULATOR_DEFAULTS.cardAccountId,
  };
  const log = values.quiet ? undefined : (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

  void startEnKashSimulator({ ...config, port, host: values.host, credentials, log }).then((sim) => {
    // Secrets are not printed: whoever configured them knows them.
    process.stdout.write(
      `EnKash simulator listening on ${sim.url} (token: ${sim.url}/oauth/token, admin: ${sim.url}/__admin/state)\n` +
        `partnerId=${credentials.partnerId} clientId=${credentials.clientId} ` +
        `companyId=${credentials.companyId} cardAccountId=${credentials.cardAccountId}\n` +
        `config: ${JSON.stringify(sim.state.config)}\n`,
    );
    const stop = () => void sim.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }, fail);
}

function fail(e: unknown): void {
  process.stderr.write(`enkash-simulator: ${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
  process.exit(1);
}

try {
  main();
} catch (e) {
  fail(e);
}
