/**
 * Where the time goes: CPU seconds per process (Linux /proc) and, when the server preloads pg_stat_statements,
 * execution time per statement. A bench figure divides both by the loads it wrote (bench/README.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces), or null when the process is gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime of one process, in seconds; 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND : 0;
}

/** The parent process id of `pid` (Linux /proc), or 0. */
function parentOf(pid: number): number {
  try {
    return Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The postmaster of the server at `url` (the parent of one of its backends): the CPU of that server alone is
 * counted, not of another server on the same machine (the test suite's, say).
 */
export async function postmasterOf(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const [{ pid }] = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    return parentOf(pid);
  } finally {
    await c.end();
  }
}

/**
 * CPU seconds of one Postgres server: its postmaster, every live child (backends, walwriter, checkpointer …) and
 * every child that has exited (the postmaster's cutime + cstime), so a pooled connection closed and opened again
 * during a window is still counted.
 */
export function postgresCpuSeconds(postmaster: number): number {
  const f = statFields(postmaster);
  let total = f ? (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND : 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (parentOf(Number(entry)) === postmaster) total += processCpuSeconds(Number(entry));
  }
  return total;
}

export interface CpuWindow {
  /** µs of CPU per unit of work, per process group, since the window opened. */
  perUnit(units: number): { postgresUs: number; serviceUs: number };
}

/** Opens a window over the service's process and the Postgres server whose postmaster is given. */
export function cpuWindow(servicePid: number, postmaster: number): CpuWindow {
  const pg0 = postgresCpuSeconds(postmaster);
  const svc0 = processCpuSeconds(servicePid);
  return {
    perUnit: (units) => ({
      postgresUs: ((postgresCpuSeconds(postmaster) - pg0) * 1e6) / Math.max(units, 1),
      serviceUs: ((processCpuSeconds(servicePid) - svc0) * 1e6) / Math.max(units, 1),
    }),
  };
}

export interface StatementCost {
  query: string;
  calls: number;
  usPerUnit: number;
}

/**
 * pg_stat_statements of database `url`, or null when the server does not preload it. `reset()` starts the window;
 * `top(units)` lists the costliest statements in µs of execution time per unit of work.
 */
export async function statementProfile(
  url: string,
): Promise<{ reset(): Promise<void>; top(units: number, n?: number): Promise<StatementCost[]> } | null> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await c.query('SELECT 1 FROM pg_stat_statements LIMIT 1');
  } catch {
    await c.end();
    return null;
  }
  await c.end();
  const run = async <T>(sql: string): Promise<T[]> => {
    const k = new Client({ connectionString: url });
    await k.connect();
    try {
      return (await k.query(sql)).rows as T[];
    } finally {
      await k.end();
    }
  };
  return {
    reset: async () => void (await run('SELECT pg_stat_statements_reset()')),
    top: async (units, n = 12) => {
      const rows = await run<{ query: string; calls: string; ms: number }>(
        `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls, total_exec_time AS ms
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY total_exec_time DESC LIMIT ${n}`,
      );
      return rows.map((r) => ({ query: r.query.slice(0, 110), calls: Number(r.calls), usPerUnit: (r.ms * 1000) / Math.max(units, 1) }));
    },
  };
}
