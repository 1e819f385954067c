import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runMigrations } from '../src/database/data-source';
import { freePort, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { freshDatabase } from './fresh-database';

/** The project's folder, from dist/bench (the built bench) or bench/ (a test that imports this from source). */
const ROOT = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A migrated database for one bench run: `name` on the DATABASE_URL server, else an embedded Postgres in a temporary
 * folder; `dataDir`, the run's own DATA_DIR (its audit key and checkpoints belong to this database, no other).
 */
export async function benchDatabase(name: string): Promise<{ url: string; dataDir: string; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), `card-ledger-${name}-`));
  let stop: (() => Promise<void>) | null = null;
  let url = process.env.DATABASE_URL ?? '';
  if (url) url = await freshDatabase(url, name);
  else {
    const pg = await startEmbeddedPostgres(dir, () => undefined, name);
    url = pg.url;
    stop = () => pg.stop();
  }
  await runMigrations(url);
  return {
    url,
    dataDir: path.join(dir, 'state'),
    close: async () => {
      await stop?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `node args…`, once it has said it is "listening on"; its last output is the error when it exits before, and stays
 * readable afterwards (`tail`).
 */
async function spawnListening(what: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; tail: () => string }> {
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer) => (out = (out + c.toString()).slice(-5000));
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  while (!/listening on/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`${what} exited: ${out}`);
    await sleep(50);
  }
  return { proc, tail: () => out };
}

export interface ServiceProcess {
  proc: ChildProcess;
  url: string;
  /** The last 5,000 characters the process wrote (its log at LOG_LEVEL, error by default). */
  tail(): string;
  /** The process's resident memory now and at its peak, in MB (Linux /proc). */
  rssMb(): { now: number; peak: number };
  stop(): Promise<void>;
}

/** `node dist/src/main.js` with `env`, on a free port: the service as production runs it, in its own process. */
export async function spawnService(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const { proc, tail } = await spawnListening('service', [path.join(ROOT, 'dist/src/main.js')], {
    ...process.env,
    PORT: String(port),
    LOG_LEVEL: 'error',
    ...env,
  });
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? 0);
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    tail,
    rssMb: () => ({ now: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) }),
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await sleep(200);
    },
  };
}

export interface SimulatorProcess {
  proc: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/**
 * The EnKash simulator in its own process (`dist/src/enkash-simulator/main.js`), as a partner's sandbox would be:
 * it outlives anything the run kills, and its record is read through its admin API (`/__admin/state`).
 */
export async function spawnSimulator(options: {
  seed: number;
  duplicateMode: string;
  latencyMs: number;
  lookupLagMs: number;
  hangMs: number;
  failureRate: number;
  failureFaults: readonly string[];
}): Promise<SimulatorProcess> {
  const port = await freePort();
  const flags = {
    port,
    seed: options.seed,
    'duplicate-mode': options.duplicateMode,
    'latency-ms': options.latencyMs,
    'lookup-lag-ms': options.lookupLagMs,
    'hang-ms': options.hangMs,
    'failure-rate': options.failureRate,
    'failure-faults': options.failureFaults.join(','),
  };
  const args = [path.join(ROOT, 'dist/src/enkash-simulator/main.js'), '--quiet', ...Object.entries(flags).map(([k, v]) => `--${k}=${v}`)];
  const { proc } = await spawnListening('simulator', args, process.env);
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await sleep(200);
    },
  };
}
