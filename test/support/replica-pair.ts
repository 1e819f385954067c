import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { describeUnless, freePort, postgresUserIfRoot } from './local-servers';

/**
 * A private Postgres 15 primary and a streaming hot standby of it on loopback, for the read-replica tests
 * (docs/operations.md, "Read replicas"): initdb, pg_basebackup -R, each server a child of this process (as the
 * `postgres` OS user when we are root) that stops when this process ends, however it ends.
 */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface ReplicaPair {
  primaryUrl(db: string): string;
  replicaUrl(db: string): string;
  /** The folder of both servers' Unix sockets (a socket-form URL: postgresql://u@/db?host=<dir>&port=<port>). */
  socketDir: string;
  replicaPort: number;
  /** Stops the standby (fast shutdown); startReplica brings it back on the same port. */
  stopReplica(): Promise<void>;
  startReplica(): Promise<void>;
  /**
   * A third server: a streaming standby of the replica (after pg_promote() on it, a standby on its new timeline). Its
   * URL for `db`; stopped by stop().
   */
  standbyOfReplica(): Promise<(db: string) => string>;
  /** A query on the standby as its superuser (pg_wal_replay_pause(), ...). */
  onReplica(sql: string): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

/** Why these tests do not run in this pass, or null when they do (see describeWithReplicaPair). */
export function replicaSkipReason(): string | null {
  // They start their own servers: once per CI run is enough, in the pass on the machine's Postgres server.
  if (!process.env.DATABASE_URL && !process.env.TEST_DATABASE_URL) {
    return 'they start their own primary and replica, so they run once: in the pass with DATABASE_URL set';
  }
  if (!existsSync(path.join(PG_BIN, 'initdb'))) {
    const reason = `Postgres 15 server binaries are not installed (${PG_BIN}; apt-get install postgresql-15)`;
    if (process.env.CI) throw new Error(`${reason}, and CI is set: the replica tests must run`);
    return reason;
  }
  return null;
}

export function describeWithReplicaPair(name: string, body: () => void): void {
  describeUnless(replicaSkipReason(), name, body);
}

interface Server {
  proc: ChildProcess;
  log: () => string;
  exited: Promise<void>;
}

async function connectable(port: number, deadlineMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const c = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.end();
      return;
    } catch {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`Postgres on port ${port} did not start:\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startReplicaPair(): Promise<ReplicaPair> {
  const ids = postgresUserIfRoot();
  const as = ids ?? {};
  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-replica-'));
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const primaryDir = path.join(dir, 'primary');
  const replicaDir = path.join(dir, 'replica');
  const run = (bin: string, args: string[]) => execFileSync(path.join(PG_BIN, bin), args, { ...as, cwd: dir, stdio: 'pipe' });
  run('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
  // Loopback only, no socket outside the folder; replication as initdb's pg_hba allows it (trust, 127.0.0.1).
  const common = [
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${dir}'`,
    'fsync = off',
    'synchronous_commit = off',
    'shared_buffers = 32MB',
    'max_connections = 60',
    'wal_level = replica',
    'max_wal_senders = 4',
    'hot_standby = on',
    'wal_receiver_status_interval = 1s',
  ];
  appendFileSync(path.join(primaryDir, 'postgresql.conf'), [...common, `port = ${primaryPort}`, ''].join('\n'));

  const servers: Record<string, Server | null> = { primary: null, replica: null, third: null };
  const start = async (name: string, dataDir: string, port: number) => {
    // The server lives no longer than this process: a shell holds it and stops it (fast shutdown) when our end of its
    // stdin closes, as test/support/pgbouncer.ts does.
    const watch = 'exec 3<&0; bin=$1; shift; "$bin" "$@" & p=$!; (cat <&3 >/dev/null; kill -INT $p 2>/dev/null) & wait $p';
    const proc = spawn('sh', ['-c', watch, 'sh', path.join(PG_BIN, 'postgres'), '-D', dataDir], { ...as, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20000)));
    proc.stderr.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20000)));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    servers[name] = { proc, log: () => out, exited };
    await connectable(port, 30_000, () => out);
  };
  const stopServer = async (name: string) => {
    const s = servers[name];
    if (!s) return;
    servers[name] = null;
    s.proc.stdin!.end();
    const timer = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
    await s.exited;
    clearTimeout(timer);
  };

  const standby = async (name: string, of: number, dataDir: string, port: number) => {
    run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(of), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast']);
    appendFileSync(path.join(dataDir, 'postgresql.auto.conf'), `port = ${port}\n`);
    await start(name, dataDir, port);
  };
  await start('primary', primaryDir, primaryPort);
  await standby('replica', primaryPort, replicaDir, replicaPort);

  const url = (port: number, db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    primaryUrl: (db) => url(primaryPort, db),
    replicaUrl: (db) => url(replicaPort, db),
    socketDir: dir,
    replicaPort,
    stopReplica: () => stopServer('replica'),
    startReplica: () => start('replica', replicaDir, replicaPort),
    standbyOfReplica: async () => {
      const port = await freePort();
      await standby('third', replicaPort, path.join(dir, 'third'), port);
      return (db) => url(port, db);
    },
    onReplica: async (sql) => {
      const c = new Client({ connectionString: url(replicaPort, 'postgres') });
      await c.connect();
      try {
        return (await c.query(sql)).rows;
      } finally {
        await c.end();
      }
    },
    stop: async () => {
      await stopServer('third');
      await stopServer('replica');
      await stopServer('primary');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
