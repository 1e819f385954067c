import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AUDIT_KEY } from './app';

const MAIN = path.resolve(__dirname, '../../dist/src/main.js');

/** A real service process (the built `npm start`), e.g. ROLE=worker, so a test can SIGKILL it. */
export interface ServiceProcess {
  proc: ChildProcess;
  output(): string;
  exited(): Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export async function spawnService(env: Record<string, string>, readyPattern = /listening on/): Promise<ServiceProcess> {
  // Every process of a test seals the same chain: one audit key for all; local state (checkpoints) apart.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'card-ledger-proc-'));
  const fullEnv = {
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'warn',
    AUDIT_SEAL_KEY: AUDIT_KEY,
    DATA_DIR: dataDir,
    ...env,
  } as NodeJS.ProcessEnv;
  const proc = spawn(process.execPath, [MAIN], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20000)));
  proc.stderr.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20000)));
  const exit = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  const deadline = Date.now() + 30_000;
  while (!readyPattern.test(out)) {
    if (proc.exitCode !== null) throw new Error(`service exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`service did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    output: () => out,
    exited: () => exit,
    kill: async (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exit;
    },
  };
}
