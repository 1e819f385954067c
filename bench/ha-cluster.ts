/**
 * A highly available Postgres on this machine's loopback, for `npm run test:ha` and any test that needs a primary
 * with streaming replicas: one etcd (the DCS), three Patroni nodes (a primary and two replicas of the Postgres 15 in
 * /usr/lib/postgresql/15/bin) and HAProxy in front, whose write port always leads to the current primary and whose
 * read port to a streaming replica (each node's Patroni REST API answers `/primary` and `/replica`; docs/operations.md,
 * "Failover"). Debian packages: patroni, etcd-server, haproxy. Run as root (CI), Patroni and Postgres run as the
 * `postgres` user in a temporary folder it owns; run as anyone else, they run as that user.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { stringify } from 'yaml';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface HaClusterOptions {
  /** Patroni `synchronous_mode` (default true: a commit is acknowledged only once a standby has it). */
  synchronousMode?: boolean;
  /** Patroni `maximum_lag_on_failover` in bytes (default Patroni's 1 MB). */
  maximumLagOnFailover?: number;
  /** First Postgres port; node i listens on pgPort + i (default 15432). */
  pgPort?: number;
  /** First Patroni REST port (default 18008). */
  restPort?: number;
  /** etcd client port; its peer port is the next one (default 12379). */
  etcdPort?: number;
  /** HAProxy's write port (to the primary); its read port (to a replica) is the next one (default 15440). */
  proxyPort?: number;
  /** Where a line of progress goes (default: nowhere). */
  log?: (line: string) => void;
}

export interface HaNode {
  name: string;
  pgPort: number;
  restPort: number;
  dataDir: string;
}

/** A member as Patroni's `GET /cluster` lists it. */
export interface HaMember {
  name: string;
  /** leader, sync_standby or replica */
  role: string;
  state: string;
  timeline?: number;
  lag?: number | string;
}

export interface HaCluster {
  nodes: HaNode[];
  /** Superuser URL of `database` through HAProxy's write port: the primary, whichever node it is. */
  primaryUrl(database?: string): string;
  /** Superuser URL of `database` through HAProxy's read port: a streaming replica (round robin). */
  replicaUrl(database?: string): string;
  /** Superuser URL of `database` on one node, bypassing HAProxy. */
  nodeUrl(node: HaNode, database?: string): string;
  members(): Promise<HaMember[]>;
  /** The current leader's name, or null while there is none. */
  leader(): Promise<string | null>;
  /** Waits until a leader and `replicas` replicas run, with a synchronous standby when synchronous mode is on. */
  waitHealthy(replicas?: number, timeoutMs?: number): Promise<HaMember[]>;
  /** The process id of `node`'s postmaster (from its postmaster.pid), or null when it is not running. */
  postmasterPid(node: HaNode): number | null;
  /** The tail of a node's Patroni log, or etcd's / HAProxy's, for a failure's evidence. */
  logTail(name: string, lines?: number): string;
  stop(): Promise<void>;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Fails fast, naming the port, when an earlier run's cluster (or anything else) still holds one of ours. */
async function assertFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', () => reject(new Error(`port ${port} is in use (an earlier HA run still running? see ps for patroni/etcd)`)));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* Patroni answers JSON; anything else is kept as text for the error */
  }
  return { status: res.status, body };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null && v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms${last ? ` (${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`,
      );
    await sleep(250);
  }
}

/** The `postgres` user when running as root (Postgres refuses root), else whoever runs this. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('running as root needs a `postgres` user (Debian: the postgresql package)');
  }
}

function patroniConfig(o: {
  node: HaNode;
  dir: string;
  etcdPort: number;
  superPw: string;
  replPw: string;
  synchronousMode: boolean;
  maximumLagOnFailover: number;
}): unknown {
  return {
    scope: 'card-ledger-ha',
    namespace: '/card-ledger/',
    name: o.node.name,
    restapi: { listen: `127.0.0.1:${o.node.restPort}`, connect_address: `127.0.0.1:${o.node.restPort}` },
    // Patroni's v3 API client: etcd 3.4 serves v2 only when asked to (--enable-v2), v3 always.
    etcd3: { hosts: [`127.0.0.1:${o.etcdPort}`] },
    bootstrap: {
      dcs: {
        // A Patroni that dies keeps the leader key ttl seconds; a crashed Postgres under a live Patroni is failed over
        // at its next loop (primary_start_timeout 0), without waiting for the key to expire.
        ttl: 10,
        loop_wait: 1,
        retry_timeout: 4,
        primary_start_timeout: 0,
        maximum_lag_on_failover: o.maximumLagOnFailover,
        synchronous_mode: o.synchronousMode,
        synchronous_mode_strict: false,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            wal_level: 'replica',
            hot_standby: 'on',
            // pg_rewind needs it (or data checksums): the old primary rejoins as a replica after a failover.
            wal_log_hints: 'on',
            max_connections: 200,
            max_wal_senders: 10,
            max_replication_slots: 10,
            wal_keep_size: '256MB',
            synchronous_commit: 'on',
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C' }, 'data-checksums'],
    },
    postgresql: {
      listen: `127.0.0.1:${o.node.pgPort}`,
      connect_address: `127.0.0.1:${o.node.pgPort}`,
      data_dir: o.node.dataDir,
      bin_dir: PG_BIN,
      pgpass: path.join(o.dir, `${o.node.name}.pgpass`),
      authentication: {
        superuser: { username: 'postgres', password: o.superPw },
        replication: { username: 'replicator', password: o.replPw },
        rewind: { username: 'postgres', password: o.superPw },
      },
      parameters: { unix_socket_directories: o.dir },
      pg_hba: ['local all all trust', 'host replication replicator 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256'],
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
}

function haproxyConfig(nodes: HaNode[], writePort: number, readPort: number): string {
  // TCP to the node whose Patroni says /primary (or /replica) with 200; a node marked down has its sessions cut,
  // so no pooled connection stays on an old primary. Checked every 500 ms: a failover shows within about a second.
  const servers = (check: string) => [
    `  option httpchk OPTIONS ${check}`,
    '  http-check expect status 200',
    '  default-server inter 500ms fastinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions',
    ...nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.pgPort} maxconn 190 check port ${n.restPort}`),
  ];
  return [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 30m',
    '  timeout server 30m',
    '  timeout check 1s',
    'listen primary',
    `  bind 127.0.0.1:${writePort}`,
    ...servers('/primary'),
    'listen replicas',
    `  bind 127.0.0.1:${readPort}`,
    '  balance roundrobin',
    ...servers('/replica'),
    '',
  ].join('\n');
}

export async function startHaCluster(options: HaClusterOptions = {}): Promise<HaCluster> {
  const pgPort = options.pgPort ?? 15432;
  const restPort = options.restPort ?? 18008;
  const etcdPort = options.etcdPort ?? 12379;
  const writePort = options.proxyPort ?? 15440;
  const readPort = writePort + 1;
  const log = options.log ?? (() => undefined);
  for (const p of [pgPort, pgPort + 1, pgPort + 2, restPort, restPort + 1, restPort + 2, etcdPort, etcdPort + 1, writePort, readPort])
    await assertFree(p);
  for (const bin of ['/usr/bin/patroni', '/usr/bin/etcd', '/usr/sbin/haproxy', `${PG_BIN}/postgres`])
    if (!existsSync(bin)) throw new Error(`${bin} is missing (apt-get install patroni etcd-server haproxy postgresql-15)`);

  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-ha-'));
  const owner = runAs();
  chmodSync(dir, 0o700);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const superPw = randomBytes(18).toString('base64url');
  const replPw = randomBytes(18).toString('base64url');
  const nodes: HaNode[] = [0, 1, 2].map((i) => ({
    name: `pg${i + 1}`,
    pgPort: pgPort + i,
    restPort: restPort + i,
    dataDir: path.join(dir, `pg${i + 1}`),
  }));
  const procs = new Map<string, ChildProcess>();
  const logFile = (name: string) => path.join(dir, `${name}.log`);
  const start = (name: string, cmd: string, args: string[], as: { uid?: number; gid?: number } = {}) => {
    const out = createWriteStream(logFile(name));
    const proc = spawn(cmd, args, { ...as, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } });
    proc.stdout.pipe(out);
    proc.stderr.pipe(out);
    procs.set(name, proc);
    return proc;
  };
  const url = (port: number, database = 'postgres') => `postgres://postgres:${superPw}@127.0.0.1:${port}/${database}`;
  const rest = (node: HaNode, p: string) => getJson(`http://127.0.0.1:${node.restPort}${p}`);

  const cluster: HaCluster = {
    nodes,
    primaryUrl: (db) => url(writePort, db),
    replicaUrl: (db) => url(readPort, db),
    nodeUrl: (node, db) => url(node.pgPort, db),
    async members() {
      for (const n of nodes) {
        try {
          const r = await rest(n, '/cluster');
          if (r.status === 200) return (r.body as { members: HaMember[] }).members;
        } catch {
          /* that node's Patroni is down: ask the next */
        }
      }
      throw new Error('no Patroni REST API answers');
    },
    async leader() {
      return (await cluster.members()).find((m) => m.role === 'leader' && m.state === 'running')?.name ?? null;
    },
    async waitHealthy(replicas = 2, timeoutMs = 120_000) {
      const sync = options.synchronousMode ?? true;
      return until(`a leader, ${replicas} streaming replicas${sync ? ' and a synchronous standby' : ''}`, timeoutMs, async () => {
        const ms = await cluster.members();
        const leader = ms.find((m) => m.role === 'leader' && m.state === 'running');
        const standbys = ms.filter((m) => m.role !== 'leader' && ['running', 'streaming'].includes(m.state));
        if (!leader || standbys.length < replicas || (sync && !standbys.some((m) => m.role === 'sync_standby'))) return null;
        // Running is not yet streaming: each replica must show in the primary's pg_stat_replication.
        const node = nodes.find((n) => n.name === leader.name)!;
        const c = new Client({ connectionString: url(node.pgPort), connectionTimeoutMillis: 2000 });
        await c.connect();
        try {
          const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'`);
          return rows[0].n >= replicas ? ms : null;
        } finally {
          await c.end();
        }
      });
    },
    postmasterPid(node) {
      try {
        const pid = Number(readFileSync(path.join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(pid, 0);
        return pid;
      } catch {
        return null;
      }
    },
    logTail(name, lines = 30) {
      try {
        return readFileSync(logFile(name), 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async stop() {
      // Patroni stops its Postgres on SIGTERM; a postmaster left behind (its Patroni was killed) gets SIGQUIT.
      for (const [name, p] of procs) if (name.startsWith('pg') && p.exitCode === null) p.kill('SIGTERM');
      const by = Date.now() + 15_000;
      while ([...procs].some(([n, p]) => n.startsWith('pg') && p.exitCode === null) && Date.now() < by) await sleep(100);
      for (const n of nodes) {
        const pid = cluster.postmasterPid(n);
        if (pid !== null) process.kill(pid, 'SIGQUIT');
      }
      for (const p of procs.values()) if (p.exitCode === null) p.kill('SIGKILL');
      await sleep(300);
      for (const n of nodes) {
        const pid = cluster.postmasterPid(n);
        if (pid !== null) process.kill(pid, 'SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    log(`ha: etcd on ${etcdPort}, Patroni ${nodes.map((n) => `${n.name} pg:${n.pgPort} rest:${n.restPort}`).join(', ')}, in ${dir}`);
    const etcdDir = path.join(dir, 'etcd');
    mkdirSync(etcdDir, { mode: 0o700 });
    start('etcd', '/usr/bin/etcd', [
      '--name=ha',
      `--data-dir=${etcdDir}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPort + 1}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPort + 1}`,
      `--initial-cluster=ha=http://127.0.0.1:${etcdPort + 1}`,
      '--initial-cluster-state=new',
      '--log-level=warn',
    ]);
    await until('etcd', 20_000, async () => ((await getJson(`http://127.0.0.1:${etcdPort}/health`)).status === 200 ? true : null));

    const patroni = (node: HaNode) => {
      const cfg = path.join(dir, `${node.name}.yml`);
      const text = stringify(
        patroniConfig({
          node,
          dir,
          etcdPort,
          superPw,
          replPw,
          synchronousMode: options.synchronousMode ?? true,
          maximumLagOnFailover: options.maximumLagOnFailover ?? 1_048_576,
        }),
      );
      writeFileSync(cfg, text, { mode: 0o600 });
      if (owner) chownSync(cfg, owner.uid, owner.gid);
      start(node.name, '/usr/bin/patroni', [cfg], owner ?? {});
    };
    // The first node bootstraps the cluster alone; the others then clone it with pg_basebackup.
    patroni(nodes[0]);
    await until(`${nodes[0].name} bootstrapped as primary`, 60_000, async () =>
      (await rest(nodes[0], '/primary')).status === 200 ? true : null,
    );
    patroni(nodes[1]);
    patroni(nodes[2]);
    const cfg = path.join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(nodes, writePort, readPort));
    start('haproxy', '/usr/sbin/haproxy', ['-db', '-f', cfg]);
    const members = await cluster.waitHealthy(2);
    await until('HAProxy to the primary', 20_000, async () => {
      const c = new Client({ connectionString: url(writePort), connectionTimeoutMillis: 2000 });
      await c.connect();
      await c.end();
      return true;
    });
    log(`ha: ${members.map((m) => `${m.name}=${m.role}`).join(' ')}; write ${writePort}, read ${readPort}`);
    return cluster;
  } catch (e) {
    const tails = ['etcd', ...nodes.map((n) => n.name), 'haproxy'].map((n) => `--- ${n}\n${cluster.logTail(n, 15)}`).join('\n');
    await cluster.stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${tails}`, { cause: e });
  }
}
