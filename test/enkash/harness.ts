import { Logger, LoggerService } from '@nestjs/common';
import { format } from 'node:util';
import { EnKashConfig, SIMULATOR_DEFAULTS } from '../../src/config/app-config';
import { EnKashClient, EnKashClientOptions } from '../../src/enkash/enkash.client';
import { RunningSimulator, SimulatorOptions, startEnKashSimulator } from '../../src/enkash-simulator/simulator';
import { setByHook } from '../support/hooks';

/** Shared by the EnKash suites: a simulator on a free port, a client pointed at it, captured logs. */

export const CARD = 'EKCMB7KAEW';
export const OTHER_CARD = 'EKCZZ9XQ41';

/** Short everything: client deadline 300 ms, simulator hangs 1.5 s, so timeouts cost little. */
export function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  return startEnKashSimulator({ port: 0, hangMs: 1500, ...options });
}

export function clientConfig(sim: RunningSimulator, overrides: Partial<EnKashConfig> = {}): EnKashConfig {
  return {
    ...SIMULATOR_DEFAULTS,
    baseUrl: sim.url,
    tokenUrl: `${sim.url}/oauth/token`,
    encryption: false,
    timeoutMs: 300,
    loadType: 'LOAD_MONEY',
    transactionCode: 'PRINCIPLE',
    ...overrides,
  };
}

/** Clients made here are closed by closeClients() so no keep-alive socket holds Jest open. */
const clients: EnKashClient[] = [];
export function makeClient(sim: RunningSimulator, overrides: Partial<EnKashConfig> = {}, options?: EnKashClientOptions): EnKashClient {
  const client = new EnKashClient(clientConfig(sim, overrides), undefined, options);
  clients.push(client);
  return client;
}
export function closeClients(): void {
  for (const c of clients.splice(0)) c.close();
}

/**
 * Registers the hooks the EnKash client suites share: a simulator started before all tests and reset before each;
 * after all tests, every client made here closed, then the simulator. With `{ client: true }`, also a fresh
 * `makeClient(sim)` for each test (made after the reset) as `client`.
 */
export function useSimulator(options: { client?: boolean } = {}): { readonly sim: RunningSimulator; readonly client: EnKashClient } {
  let sim: RunningSimulator | undefined;
  let client: EnKashClient | undefined;
  const ctx = {
    get sim(): RunningSimulator {
      return setByHook(sim, 'useSimulator', 'simulator', 'sim');
    },
    get client(): EnKashClient {
      if (!options.client) throw new Error('useSimulator: no client here; ask for one with useSimulator({ client: true })');
      return setByHook(client, 'useSimulator', 'client', 'client');
    },
  };
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(async () => {
    closeClients();
    await sim?.close();
    sim = undefined;
  });
  beforeEach(() => {
    ctx.sim.state.reset();
    if (options.client) client = makeClient(ctx.sim);
  });
  return ctx;
}

let seq = 0;
export const newReference = (): string => `REF${process.pid}T${Date.now().toString(36)}N${++seq}`.toUpperCase();

/** Every line any Nest Logger writes, at every level. */
export class LogCapture implements LoggerService {
  readonly lines: string[] = [];
  /** The method of one level: each call adds a line `<level> <message formatted with its params>`. */
  private writer(level: string) {
    return (message: unknown, ...params: unknown[]): void => {
      this.lines.push(`${level} ${format(message, ...params)}`);
    };
  }
  readonly log = this.writer('log');
  readonly error = this.writer('error');
  readonly warn = this.writer('warn');
  readonly debug = this.writer('debug');
  readonly verbose = this.writer('verbose');
  readonly fatal = this.writer('fatal');
}

export function captureLogs(): LogCapture {
  const capture = new LogCapture();
  Logger.overrideLogger(capture);
  return capture;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The admin API over real HTTP, as a developer would drive it with curl. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience
export async function admin(sim: RunningSimulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.url}/__admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}
