import { spawn } from 'node:child_process';
import path from 'node:path';

/** The built CLI (`npm run cli`; npm test builds first), spawned as an operator runs it. */
export const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args` in this environment plus `env` (a setting given as undefined is removed). */
export function runCli(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  const fullEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  const proc = spawn(process.execPath, [CLI, ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => proc.once('close', (code) => resolve({ code, stdout, stderr })));
}
