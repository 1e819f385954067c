/**
 * `npm run test:ha [-- --seed N --clients 8 --stall-ms 1500 --async]`: the service through two database failovers.
 * A Patroni cluster on loopback (bench/ha-cluster.ts: a primary, two streaming replicas, HAProxy in front), two API
 * processes and two workers of the built service on HAProxy's write port, the EnKash simulator in its own process
 * with faults. Under intake (clients posting single loads with an Idempotency-Key, retrying refusals with the same
 * key, recording every 2xx) and sync, the primary's WAL senders are stopped for a moment (the replicas fall behind)
 * and its postmaster is SIGKILLed; Patroni promotes a replica, and the clock runs from the kill to the first 2xx of
 * a request sent after it. Then again on the new primary (the old one has rejoined with pg_rewind: fail back).
 * At the end EnKash heals, every load settles, and: every acknowledged load is in the ledger, none was applied at
 * EnKash twice (the simulator's record), each failover was seen by a worker as a new timeline, the ledger's
 * invariants and the audit verifier hold, and no service process was restarted. Throughout, an auditor (bench/ha-auditor.ts)
 * reads the trial balance through the API processes, whose DATABASE_READ_URL is HAProxy's read port: some answers come
 * from a replica, none is a 500, and every moment asked again gets the same answer. One verdict line; exit 1 on FAIL.
 * `--async` runs the same schedule with Patroni's synchronous_mode off, which is expected to lose acknowledged loads
 * (docs/operations.md, "Failover").
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { runMigrations } from '../src/database/data-source';
import { simulatorClientEnv } from '../src/enkash-simulator/simulator';
import { Auditor } from './ha-auditor';
import { HaCluster, startHaCluster } from './ha-cluster';
import {
  adminPost,
  auditVerifierProblems,
  checkLedgerAgainstEnKash,
  FAULT_SYNC_ENV,
  FAULTY_ENKASH,
  mirrorParentFunding,
  remoteEnKash,
  settleOpenLoads,
} from './ledger-verdict';
import { ServiceProcess, SimulatorProcess, sleep, spawnService, spawnSimulator } from './service-process';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string' },
    clients: { type: 'string', default: '8' },
    'stall-ms': { type: 'string', default: '1500' },
    'load-seconds': { type: 'string', default: '6' },
    async: { type: 'boolean', default: false },
  },
});
const SEED = args.seed === undefined ? randomInt(1, 2 ** 31) : Number(args.seed) >>> 0;
const CLIENTS = Number(args.clients);
const STALL_MS = Number(args['stall-ms']);
const LOAD_MS = Number(args['load-seconds']) * 1000;
const SYNCHRONOUS = !args.async;
const ADMIN = 'ha-admin-key-0123456789abcdef0123';
const started = Date.now();
const say = (line: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`);

interface Ack {
  key: string;
  id: string;
  sentAt: number;
  at: number;
}

/**
 * Billing systems posting one load at a time: each key is retried until a 2xx (a 503 or 429 after a short pause,
 * 200 ms rather than the whole Retry-After so the figure measures the service, not the client), on the other API
 * process each time, as a load balancer would. Anything but a 2xx, 503 or 429 is a problem.
 */
class Intake {
  readonly acks: Ack[] = [];
  readonly refusals: Record<string, number> = {};
  readonly problems: string[] = [];
  private stopping = false;
  private running: Array<Promise<void>> = [];

  constructor(private readonly apis: ServiceProcess[]) {}

  start(clients: number): void {
    this.running = Array.from({ length: clients }, (_, i) => this.client(i));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  /** The first acknowledgment of a request sent at or after `t`. */
  firstAckSentAfter(t: number): Ack | undefined {
    return this.acks.find((a) => a.sentAt >= t);
  }

  private count(what: string): void {
    this.refusals[what] = (this.refusals[what] ?? 0) + 1;
  }

  private async client(i: number): Promise<void> {
    for (let n = 0; !this.stopping; n++) {
      const key = `ha-${SEED}-${i}-${n}`;
      const r = randomInt(1_000_000);
      const body = JSON.stringify({
        enKashCardId: `EKCHA${String(r % 40).padStart(5, '0')}`,
        amount: `${1 + (r % 500)}.${String(r % 100).padStart(2, '0')}`,
      });
      const giveUpAt = Date.now() + 90_000;
      for (let attempt = 0; ; attempt++) {
        if (Date.now() > giveUpAt) {
          this.problems.push(`load ${key} not accepted within 90 s`);
          return;
        }
        const api = this.apis[(i + attempt) % this.apis.length];
        const sentAt = Date.now();
        let res: Response;
        try {
          res = await fetch(`${api.url}/v1/card-loads`, {
            method: 'POST',
            body,
            headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'idempotency-key': key },
            signal: AbortSignal.timeout(30_000),
          });
        } catch (e) {
          this.count(`network:${(e as Error).name}`);
          await sleep(200);
          continue;
        }
        if (res.status === 200 || res.status === 201) {
          const { id } = (await res.json()) as { id: string };
          this.acks.push({ key, id, sentAt, at: Date.now() });
          break;
        }
        const text = await res.text();
        if (res.status === 503 || res.status === 429) {
          this.count(String(res.status));
          if (res.status === 503 && !res.headers.get('retry-after')) this.problems.push(`503 without Retry-After: ${text.slice(0, 200)}`);
          await sleep(200);
          continue;
        }
        this.count(String(res.status));
        this.problems.push(`intake answered ${res.status}: ${text.slice(0, 200)}`);
        return;
      }
    }
  }
}

interface Failover {
  from: string;
  to: string;
  ms: number;
  ackedDuringStall: number;
}

/**
 * One failover: the primary's WAL senders stop (SIGSTOP: its replicas receive nothing more, as when its network
 * fails first), then its postmaster is SIGKILLed and the stopped senders with it (they go down with their node).
 * Returns the time from the kill to the first 2xx of a request sent after it.
 */
async function failover(cluster: HaCluster, intake: Intake): Promise<Failover> {
  const members = await cluster.waitHealthy(2, 120_000);
  const from = members.find((m) => m.role === 'leader')!.name;
  const node = cluster.nodes.find((n) => n.name === from)!;
  const stopped: number[] = [];
  let ackedDuringStall = 0;
  if (STALL_MS > 0) {
    const c = new Client({ connectionString: cluster.nodeUrl(node) });
    await c.connect();
    const { rows } = await c.query(`SELECT pid FROM pg_stat_replication`);
    await c.end();
    for (const r of rows as Array<{ pid: number }>) {
      process.kill(r.pid, 'SIGSTOP');
      stopped.push(r.pid);
    }
    const before = intake.acks.length;
    await sleep(STALL_MS);
    ackedDuringStall = intake.acks.length - before;
  }
  const pid = cluster.postmasterPid(node);
  if (pid === null) throw new Error(`${from} has no postmaster to kill`);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  for (const p of stopped) process.kill(p, 'SIGKILL');
  say(`killed ${from}'s postmaster (pid ${pid}) after a ${STALL_MS} ms replication stall (${ackedDuringStall} loads acknowledged in it)`);
  const deadline = killedAt + 120_000;
  let ack: Ack | undefined;
  while (!(ack = intake.firstAckSentAfter(killedAt))) {
    if (Date.now() > deadline) {
      const seen = `${JSON.stringify(intake.refusals)} ${intake.problems.slice(0, 3).join(' | ')}`;
      throw new Error(`no load acknowledged within 120 s of killing ${from}: ${seen}`);
    }
    await sleep(20);
  }
  let to = await cluster.leader().catch(() => null);
  while (to === null || to === from) {
    if (Date.now() > deadline) throw new Error(`no new leader within 120 s of killing ${from}`);
    await sleep(100);
    to = await cluster.leader().catch(() => null);
  }
  const ms = ack.at - killedAt;
  say(`${to} is the primary; first load acknowledged ${ms} ms after the kill`);
  return { from, to, ms, ackedDuringStall };
}

async function main(): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-ha-run-'));
  const services: ServiceProcess[] = [];
  let sim: SimulatorProcess | null = null;
  let cluster: HaCluster | null = null;
  const cleanup = async () => {
    for (const s of services) await s.stop();
    await sim?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: string) => {
    process.stdout.write(`ha: FAIL seed=${SEED} stopped by ${signal} (time box)\n`);
    void cleanup().finally(() => process.exit(1));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const problems: string[] = [];
  try {
    say(`seed ${SEED}, synchronous_mode ${SYNCHRONOUS ? 'on' : 'OFF'}, ${CLIENTS} intake clients, stall ${STALL_MS} ms`);
    cluster = await startHaCluster({ synchronousMode: SYNCHRONOUS, log: say });
    const admin = new Client({ connectionString: cluster.primaryUrl() });
    await admin.connect();
    await admin.query('CREATE DATABASE card_ledger');
    await admin.end();
    const url = cluster.primaryUrl('card_ledger');
    await runMigrations(url);
    const modes = ['apply-again', 'reject', 'replay'];
    sim = await spawnSimulator({ ...FAULTY_ENKASH, seed: SEED, duplicateMode: modes[SEED % 3] });
    // ENKASH_BASE_URL is set, so DATABASE_FORK_POLICY is `hold`: a new timeline makes every open load lookup-first.
    const env = {
      DATABASE_URL: url,
      DATA_DIR: path.join(dir, 'state'),
      ADMIN_API_KEY: ADMIN,
      ...simulatorClientEnv(sim.url),
      ...FAULT_SYNC_ENV(5000),
    };
    // Auditor reads may be served by a replica behind HAProxy's read port (docs/operations.md, "Read replicas").
    const apiEnv = { ...env, ROLE: 'api', DATABASE_READ_URL: cluster.replicaUrl('card_ledger') };
    const apis = await Promise.all([spawnService(apiEnv), spawnService(apiEnv)]);
    services.push(...apis);
    services.push(...(await Promise.all([spawnService({ ...env, ROLE: 'worker' }), spawnService({ ...env, ROLE: 'worker' })])));
    const post = adminPost(apis[0].url, ADMIN);
    await mirrorParentFunding(post, (await remoteEnKash(sim.url)).parentBalanceMinor);
    say(`2 API processes, 2 workers and the simulator (${modes[SEED % 3]}, faults at ${FAULTY_ENKASH.failureRate}) on HAProxy`);

    const intake = new Intake(apis);
    intake.start(CLIENTS);
    const auditor = new Auditor(apis, ADMIN);
    auditor.start();
    await sleep(LOAD_MS);
    if (intake.acks.length === 0) throw new Error(`no load acknowledged before any failover: ${intake.problems.slice(0, 3).join(' | ')}`);
    const failovers: Failover[] = [];
    for (let round = 0; round < 2; round++) {
      auditor.failoverStarted = true;
      failovers.push(await failover(cluster, intake));
      await sleep(LOAD_MS);
    }
    await intake.stop();
    problems.push(...intake.problems.slice(0, 10));
    await auditor.stop();
    problems.push(...auditor.problems.slice(0, 10));
    if (auditor.replicaBeforeFailover === 0) problems.push('no auditor read was served by a replica before the first failover');
    if (auditor.replicaAfter === 0) problems.push('no auditor read was served by a replica after the failovers began');
    say(`auditor: ${auditor.moments} moments asked again and again, answers ${JSON.stringify(auditor.served)}`);
    say(`intake stopped: ${intake.acks.length} loads acknowledged, refusals ${JSON.stringify(intake.refusals)}`);

    // EnKash heals; every load must settle, on the last primary, with both replicas back (the first old primary
    // has rejoined through pg_rewind).
    await fetch(`${sim.url}/__admin/config`, {
      method: 'PATCH',
      body: JSON.stringify({ failureRate: 0 }),
      headers: { 'content-type': 'application/json' },
    });
    await fetch(`${sim.url}/__admin/faults`, { method: 'DELETE' });
    const rejoined = await cluster.waitHealthy(2, 120_000).then(
      (ms) => ms.map((m) => `${m.name}=${m.role}`).join(' '),
      (e: Error) => {
        problems.push(`the cluster did not heal: ${e.message}`);
        return 'not healed';
      },
    );
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      problems.push(...(await settleOpenLoads(c, post)));
      const found = new Map(
        (
          await c.query(`SELECT id::text, idempotency_key FROM card_loads WHERE id = ANY($1::uuid[])`, [intake.acks.map((a) => a.id)])
        ).rows.map((r: { id: string; idempotency_key: string }) => [r.id, r.idempotency_key]),
      );
      const lost = intake.acks.filter((a) => found.get(a.id) !== a.key);
      if (lost.length) {
        problems.push(
          `${lost.length} acknowledged loads are not in the ledger (first ${lost
            .slice(0, 3)
            .map((a) => `${a.key} at +${((a.at - started) / 1000).toFixed(1)} s`)
            .join(', ')})`,
        );
      }
      const verdict = await checkLedgerAgainstEnKash(c, await remoteEnKash(sim.url));
      problems.push(...verdict.problems);
      problems.push(...(await auditVerifierProblems(apis[0].url, ADMIN)));
      const forks = (
        await c.query(`SELECT details->>'kind' AS kind FROM audit_events WHERE action = 'database.fork_detected' ORDER BY seq`)
      ).rows.map((r: { kind: string }) => r.kind);
      if (forks.filter((k) => k === 'timeline').length < failovers.length)
        problems.push(`${failovers.length} failovers, but the workers saw these forks: ${JSON.stringify(forks)}`);
      const restarted = services.filter((s) => s.proc.exitCode !== null);
      if (restarted.length) problems.push(`${restarted.length} service processes exited`);
      for (const p of problems.slice(0, 30)) process.stdout.write(`problem: ${p}\n`);
      // A 5xx other than the outage's 503 is a bug: the services' own log says what failed.
      if (Object.keys(intake.refusals).some((k) => k.startsWith('5') && k !== '503'))
        for (const s of services) process.stdout.write(`--- ${s.url}\n${s.tail()}\n`);
      const result = problems.length ? 'FAIL' : 'PASS';
      process.stdout.write(
        `ha: ${result} failover ${failovers.map((f) => `${f.from}->${f.to} ${(f.ms / 1000).toFixed(1)} s`).join(', ')}; ` +
          `synchronous_mode=${SYNCHRONOUS ? 'on' : 'off'} seed=${SEED} loads=${verdict.loads} acknowledged=${intake.acks.length} ` +
          `lost=${lost.length} posted=${verdict.counts.posted ?? 0} reversed=${verdict.counts.reversed ?? 0} ` +
          `503s=${intake.refusals['503'] ?? 0} forks=${forks.join(',')} cluster=[${rejoined}] ` +
          `auditor=${auditor.moments} moments ${Object.entries(auditor.served)
            .map(([k, v]) => `${k}:${v}`)
            .join(',')} ` +
          `time=${Math.round((Date.now() - started) / 1000)} s` +
          `${problems.length ? ` problems=${problems.length}: ${problems.slice(0, 6).join(' | ')}` : ''}\n`,
      );
    } finally {
      await c.end();
    }
    return problems.length ? 1 : 0;
  } catch (e) {
    const logs = cluster ? ['pg1', 'pg2', 'pg3'].map((n) => `--- ${n}\n${cluster!.logTail(n, 12)}`).join('\n') : '';
    process.stdout.write(`${logs}\nha: FAIL seed=${SEED} error=${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

void main().then((code) => process.exit(code));
