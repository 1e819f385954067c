/**
 * Where the time goes: CPU seconds per process (Linux /proc) and, when the server preloads pg_stat_statements,
 * execution time per statement. A bench figure divides both by the loads it wrote (bench/README.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of one process, in seconds; 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    // The command name (field 2) may hold spaces; the counters come after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds of every Postgres process on this machine (postmaster, backends, walwriter, checkpointer …). */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += processCpuSeconds(Number(entry));
    } catch {
      // exited between the listing and the read
    }
  }
  return total;
}

export interface CpuWindow {
  /** µs of CPU per unit of work, per process group, since the window opened. */
  perUnit(units: number): { postgresUs: number; serviceUs: number };
}

/** Opens a window over the service's process and all of Postgres. */
export function cpuWindow(servicePid: number): CpuWindow {
  const pg0 = postgresCpuSeconds();
  const svc0 = processCpuSeconds(servicePid);
  return {
    perUnit: (units) => ({
      postgresUs: ((postgresCpuSeconds() - pg0) * 1e6) / Math.max(units, 1),
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
