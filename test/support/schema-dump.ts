import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { runMigrations } from '../../src/database/data-source';
import { dumpableServer } from './pg-tools';

const run = promisify(execFile);

export const SCHEMA_FILE = 'docs/schema.sql';
export const SCHEMA_DUMP_COMMAND = 'npm run schema:dump';

const HEADER = `-- The whole live schema of card-ledger (tables, indexes, constraints, sequences, functions, triggers) as the
-- migrations in migrations/ leave it: pg_dump --schema-only --no-owner --no-privileges of a database migrated
-- fresh, normalised (no version banner, no SET lines, no per-run keys). Generated, never edited by hand:
-- regenerate with \`${SCHEMA_DUMP_COMMAND}\`; test/database/schema.spec.ts fails when this file and the migrations differ.
`;

/**
 * Drops what changes from run to run or from one client patch release to the next, never a schema object: the dump's
 * banner and version comments, the session SETs, search_path resets and the \restrict keys of newer pg_dumps; and
 * the months in the names and bounds of the journal's partitions.
 */
export function normaliseDump(raw: string): string {
  const text = raw
    // Each object's "--\n-- Name: …\n--" banner becomes one line; the dump's own banners go.
    .replace(/^--\n(-- Name: .*)\n--\n/gm, '$1\n')
    .replace(/^--\n-- (PostgreSQL database dump( complete)?|Dumped (from database version|by pg_dump version)) .*\n(--\n)?/gm, '')
    .replace(/^--\n-- PostgreSQL database dump( complete)?\n--\n/gm, '')
    .split('\n')
    .filter(
      (line) =>
        !/^-- Dumped (from database version|by pg_dump version) /.test(line) &&
        !/^SET [a-z_]+ = /.test(line) &&
        !/^SELECT pg_catalog\.set_config\('search_path', '', false\);$/.test(line) &&
        !/^\\(un)?restrict /.test(line),
    )
    .join('\n')
    // The monthly partitions are named and bounded by the month the migration ran in (docs/operations.md).
    .replace(/_\d{4}_\d{2}\b/g, '_YYYY_MM')
    .replace(/'\d{4}-\d{2}-01 00:00:00\+00'/g, "'YYYY-MM-01 00:00:00+00'")
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return `${HEADER}\n${text}\n`;
}

/** Creates a database on a server pg_dump can read, applies every migration, dumps its schema, drops it. */
export async function dumpFreshSchema(suiteServer: string): Promise<string> {
  const { tools, server } = await dumpableServer(suiteServer);
  const name = `cl_schema_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(server);
    url.pathname = `/${name}`;
    try {
      await runMigrations(url.toString());
      const { stdout } = await run(tools.dump, ['--schema-only', '--no-owner', '--no-privileges', '--dbname', url.toString()], {
        maxBuffer: 64 * 1024 * 1024,
      });
      return normaliseDump(stdout);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}
