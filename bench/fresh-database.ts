import { Client } from 'pg';

/** `serverUrl` with its database replaced by `name`. */
export function databaseUrlOn(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Drops and recreates database `name` on the server (an earlier run's leftovers go) and returns its URL. */
export async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  const c = new Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  return databaseUrlOn(serverUrl, name);
}
