/**
 * `DATABASE_URL=<server> node dist/bench/service-cpu.js [--rounds R] [--requests N] [--clients C] label=<build dir> ...`:
 * the CPU one single-load `POST /v1/card-loads` costs the service and Postgres, for builds side by side. Each round
 * starts each build in turn (ROLE=api, bench-service.ts) on a fresh database, sends 3,000 loads to warm it up, then
 * exactly N more from C closed-loop clients, and divides the CPU the service process and the server used meanwhile
 * by the loads answered. A fixed count, not a fixed time, so that a slow moment of the machine stretches the run
 * instead of changing what is counted; the rate is printed but is the noisy part. Prints each run and the medians.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { singleLoads, startBenchService } from './bench-service';
import { postgresCpuSeconds, postmasterOf, processCpuSeconds } from './cpu';
import { freshDatabase } from './fresh-database';

const WARM_UP = 3000;

type Run = { rate: number; serviceUs: number; postgresUs: number; p99: number };

async function measure(server: string, main: string, tag: string, clients: number, requests: number): Promise<Run> {
  const db = await freshDatabase(server, 'bench_service_cpu');
  const { base, proc } = await startBenchService(main, db);
  try {
    const postmaster = await postmasterOf(db);
    // The measured loads' cards go on from where the warm-up's stopped.
    const send = (part: string, count: number, firstCard: number) =>
      singleLoads(base, {
        connections: clients,
        requests: count,
        tag: `${tag}-${part}`,
        card: (n) => `EKCB${String((firstCard + n) % 100000).padStart(6, '0')}`,
        amount: '1500.00',
      });
    await send('warm', WARM_UP, 0);
    const [s0, p0, t0] = [processCpuSeconds(proc.pid!), postgresCpuSeconds(postmaster), performance.now()];
    const r = await send('measured', requests, WARM_UP);
    const [s1, p1, t1] = [processCpuSeconds(proc.pid!), postgresCpuSeconds(postmaster), performance.now()];
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${tag}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    return {
      rate: r.loads / ((t1 - t0) / 1000),
      serviceUs: ((s1 - s0) * 1e6) / r.loads,
      postgresUs: ((p1 - p0) * 1e6) / r.loads,
      p99: r.p99,
    };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '3' },
      requests: { type: 'string', default: '12000' },
      clients: { type: 'string', default: '16' },
    },
  });
  const [rounds, requests, clients] = [Number(values.rounds), Number(values.requests), Number(values.clients)];
  const builds = positionals.map((p) => ({ label: p.slice(0, p.indexOf('=')), dir: p.slice(p.indexOf('=') + 1) }));
  const server = process.env.DATABASE_URL;
  if (!server || builds.length === 0 || builds.some((b) => !b.label || !b.dir) || !(rounds >= 1 && requests >= 1 && clients >= 1)) {
    throw new Error(
      'usage: DATABASE_URL=<server> node dist/bench/service-cpu.js [--rounds R] [--requests N] [--clients C] label=<build dir> ...',
    );
  }
  const runs = new Map<string, Run[]>(builds.map((b) => [b.label, []]));
  for (let round = 0; round < rounds; round++) {
    for (const b of builds) {
      const r = await measure(server, path.resolve(b.dir, 'dist/src/main.js'), `${b.label}-${round}`, clients, requests);
      runs.get(b.label)!.push(r);
      process.stdout.write(
        `${b.label} round ${round + 1}: service ${r.serviceUs.toFixed(0)} µs, Postgres ${r.postgresUs.toFixed(0)} µs per load; ` +
          `${r.rate.toFixed(0)} loads/s, p99 ${r.p99} ms\n`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(0);
  for (const [label, rs] of runs) {
    process.stdout.write(
      `median ${label}: service ${median(rs.map((r) => r.serviceUs))} µs, Postgres ${median(rs.map((r) => r.postgresUs))} µs per load; ` +
        `${median(rs.map((r) => r.rate))} loads/s\n`,
    );
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
