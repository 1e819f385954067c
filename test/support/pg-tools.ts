import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { Client } from 'pg';

/** pg_dump and pg_restore of one version, as an operator would run them (Debian's postgresql-client here). */
export interface PgTools {
  dump: string;
  restore: string;
  major: number;
}

const MACHINE_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

function majorOf(binary: string): number | null {
  try {
    const m = /\(PostgreSQL\) (\d+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The newest pg_dump on PATH or under /usr/lib/postgresql/N/bin, with its pg_restore; null when there is none. */
export function findPgTools(): PgTools | null {
  const candidates = ['pg_dump'];
  const lib = '/usr/lib/postgresql';
  if (existsSync(lib)) for (const v of readdirSync(lib)) candidates.push(`${lib}/${v}/bin/pg_dump`);
  let best: PgTools | null = null;
  for (const dump of candidates) {
    const major = majorOf(dump);
    const restore = dump.replace(/pg_dump$/, 'pg_restore');
    if (major !== null && majorOf(restore) === major && (best === null || major > best.major)) best = { dump, restore, major };
  }
  return best;
}

async function serverMajor(url: string): Promise<number | null> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const { rows } = await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    return Math.floor(Number(rows[0].v) / 10000);
  } catch {
    return null;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * A Postgres server these tools can dump (pg_dump refuses a newer server): the suite's own when it fits, else the
 * machine's server at 127.0.0.1:5432 (Debian's, the same version as its client tools). Throws, saying what to
 * install, when there is none: a backup test that skipped itself would prove nothing.
 */
export async function dumpableServer(suiteServer: string): Promise<{ tools: PgTools; server: string }> {
  const tools = findPgTools();
  if (!tools) {
    throw new Error('pg_dump/pg_restore not found: install the PostgreSQL client tools (Debian: apt-get install -y postgresql-client)');
  }
  for (const server of [suiteServer, MACHINE_SERVER]) {
    const major = await serverMajor(server);
    if (major !== null && major <= tools.major) return { tools, server };
  }
  throw new Error(
    `pg_dump ${tools.major} cannot dump the suite's server (newer), and no Postgres ${tools.major} or older answers at ` +
      `127.0.0.1:5432: install postgresql-client matching the server, or run the suite with TEST_DATABASE_URL`,
  );
}
