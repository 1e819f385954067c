import { ApiError } from '../common/errors';

/**
 * Exit codes, so that cron jobs and alerts can tell "the ledger is wrong" from "the tool could not run":
 * a `verify` that cannot reach the database must never look like a tampered chain, or the reverse.
 */
export const EXIT = {
  ok: 0,
  /** verify found a broken link, or the ledger refused the operation (not found, wrong state). */
  refused: 1,
  /** Bad arguments or configuration: nothing was attempted. */
  usage: 2,
  /** The command could not run (database unreachable, migrations pending, unexpected error). */
  failed: 3,
} as const;

export class CliUsageError extends Error {}
export class CliFailure extends Error {}

/** One result per command on stdout: JSON for machines, text for people. Errors go to stderr. */
export function emit(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
}

/** Left-aligned columns; `right` lists the columns to right-align (counts and amounts). */
export function table(headers: string[], rows: string[][], right: number[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** 93784 → "1d 2h 3m": enough precision for "how long has this load waited". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor(s / 3600) % 24, 'h'],
    [Math.floor(s / 60) % 60, 'm'],
  ];
  const shown = parts
    .filter(([n]) => n > 0)
    .slice(0, 3)
    .map(([n, u]) => `${n}${u}`);
  return shown.length ? shown.join(' ') : `${s % 60}s`;
}

/**
 * Prints an error the way the caller asked (`--json` → the API's error shape) and returns the exit code.
 * The database password is masked in case a driver error ever echoes the connection string.
 */
export function reportError(e: unknown, json: boolean, secret: string | null): number {
  let code: string;
  let exit: number;
  if (e instanceof CliUsageError) [code, exit] = ['usage', EXIT.usage];
  else if (e instanceof ApiError) [code, exit] = [e.code, EXIT.refused];
  else [code, exit] = ['failed', EXIT.failed];
  let message = e instanceof Error ? e.message : String(e);
  if (secret) message = message.split(secret).join('***');
  process.stderr.write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `error: ${message}\n`);
  return exit;
}
