import { ChildProcess, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { describeUnless, freePort, postgresUserIfRoot } from './local-servers';

/**
 * A private pgbouncer (the Debian package, 1.18) in TRANSACTION pooling mode in front of a Postgres server, for the
 * tests that prove the service keeps no session state (docs/operations.md, "Connection pooling (pgbouncer)"). Each
 * gets its own config folder and a free port on 127.0.0.1, and is stopped by stop().
 */
export interface RunningPgbouncer {
  port: number;
  /** `url` (a database on the server behind it) with pgbouncer's host and port instead: the wildcard entry passes the database through. */
  via(url: string): string;
  /** What pgbouncer logged so far (its stderr), for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

export interface PgbouncerOptions {
  /** Server connections per database and user: small, so that many clients really share few server connections. */
  poolSize?: number;
  /** pgbouncer's idle_transaction_timeout in seconds (0 = off, its default). */
  idleTransactionTimeoutS?: number;
  /** pgbouncer's query_wait_timeout in seconds: how long a client waits for a server connection (default 120). */
  queryWaitTimeoutS?: number;
}

const PLACES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

export function pgbouncerBinary(): string | null {
  return PLACES.find((p) => existsSync(p)) ?? null;
}

/**
 * Why the pgbouncer tests cannot run here, or null when they can. A missing binary skips them only outside CI: with
 * CI set it throws, so that CI never passes without them (.ci/run installs the package).
 */
export function pgbouncerSkipReason(): string | null {
  if (pgbouncerBinary()) return null;
  const reason = `pgbouncer is not installed (looked in ${PLACES.join(', ')}; apt-get install pgbouncer)`;
  if (process.env.CI) throw new Error(`${reason}, and CI is set: the pgbouncer tests must run`);
  return reason;
}

/** describe(), or describe.skip() saying why on stdout when pgbouncer is missing outside CI. */
export function describeWithPgbouncer(name: string, body: () => void): void {
  describeUnless(pgbouncerSkipReason(), name, body);
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

export async function startPgbouncer(serverUrl: string, opts: PgbouncerOptions = {}): Promise<RunningPgbouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error(pgbouncerSkipReason() ?? 'pgbouncer is not installed');
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || userInfo().username);
  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-pgbouncer-'));
  const port = await freePort();
  // trust: no password between the test and pgbouncer; the user must be in auth_file, whose password (the server
  // URL's, if any) pgbouncer uses to log in to the server. No ignore_startup_parameters: a startup parameter
  // pgbouncer cannot track (options=-c statement_timeout=...) must fail here as it would in production.
  writeFileSync(path.join(dir, 'userlist.txt'), `${quote(user)} ${quote(decodeURIComponent(server.password))}\n`);
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${opts.poolSize ?? 10}`,
      'max_client_conn = 2000',
      `idle_transaction_timeout = ${opts.idleTransactionTimeoutS ?? 0}`,
      `query_wait_timeout = ${opts.queryWaitTimeoutS ?? 120}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  const ids = postgresUserIfRoot();
  if (ids) {
    chownSync(dir, ids.uid, ids.gid);
    for (const f of ['userlist.txt', 'pgbouncer.ini']) chownSync(path.join(dir, f), ids.uid, ids.gid);
  }
  // pgbouncer lives no longer than this process: a shell holds it and stops it when our end of its stdin closes,
  // which happens however we end (a CI time box's SIGTERM or SIGKILL included). The shell exits with pgbouncer.
  // (A background job's stdin is /dev/null unless redirected: hence fd 3.)
  const watch = 'exec 3<&0; bin=$1; shift; "$bin" "$@" & p=$!; (cat <&3 >/dev/null; kill $p 2>/dev/null) & wait $p';
  const proc: ChildProcess = spawn('sh', ['-c', watch, 'sh', binary, path.join(dir, 'pgbouncer.ini')], {
    ...(ids ?? {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20000)));
  proc.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!/listening on 127\.0\.0\.1:\d+/.test(out)) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`pgbouncer exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`pgbouncer did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    via: (url: string) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    log: () => out,
    stop: async () => {
      // The watcher sends SIGTERM: pgbouncer's immediate shutdown (SIGINT would wait for every client to leave).
      proc.stdin!.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
