import path from 'node:path';
import { Client } from 'pg';
import { readOrCreateKeyFile } from '../common/key-file';

/**
 * Who is who in the embedded database (docs/operations.md, "Database roles"). The superuser can bypass every
 * append-only trigger (`session_replication_role = replica`), so the app never connects as it: migrations run
 * as the superuser, the app as APP_ROLE, a plain login role that owns nothing and may only read and write rows.
 * Both passwords are random, kept in DATA_DIR (0600, key-file.ts), never logged; a cluster made before this
 * release still has the old fixed superuser password, which is replaced at its first start.
 */
export const APP_ROLE = 'card_ledger_app';
/** The superuser password of clusters created before passwords were random. */
const LEGACY_SUPERUSER_PASSWORD = 'postgres';

export const superuserPasswordFile = (root: string) => path.join(root, '.pg-superuser.key');
const appPasswordFile = (root: string) => path.join(root, '.pg-app.key');

const withPassword = (url: string, user: string, password: string): string => {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
};

/** A connection as the superuser; a legacy cluster's fixed password is replaced by the random one on the way. */
export async function superuserClient(url: string, password: string): Promise<Client> {
  const client = new Client({ connectionString: withPassword(url, 'postgres', password) });
  try {
    await client.connect();
    return client;
  } catch (e) {
    if ((e as { code?: string }).code !== '28P01') throw e;
  }
  const legacy = new Client({ connectionString: withPassword(url, 'postgres', LEGACY_SUPERUSER_PASSWORD) });
  await legacy.connect();
  // Utility statements take no parameters; the password is base64url (key-file.ts), so it quotes safely.
  await legacy.query(`ALTER ROLE postgres PASSWORD '${password}'`);
  return legacy;
}

/**
 * Creates (or brings up to date) the app's role and grants it the rows of every table the migrations made;
 * run after migrations, at every start. Returns the URL the app connects with.
 */
export async function prepareAppRole(adminUrl: string, root: string): Promise<string> {
  const password = readOrCreateKeyFile(appPasswordFile(root));
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = (await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [APP_ROLE])).rowCount === 1;
    await client.query(
      `${exists ? 'ALTER' : 'CREATE'} ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION ` +
        `NOBYPASSRLS PASSWORD '${password}'`,
    );
    const db = (await client.query<{ db: string }>(`SELECT current_database() AS db`)).rows[0].db;
    // pg_read_all_stats: the watermark (docs/time.md) must see the start of every writer, migrations included.
    await client.query(`GRANT pg_read_all_stats TO ${APP_ROLE}`);
    const quoted = `"${db.replace(/"/g, '""')}"`;
    await client.query(`GRANT CONNECT ON DATABASE ${quoted} TO ${APP_ROLE}`);
    // No temporary tables (nothing of ours makes one): one named like a ledger table would come first in the search
    // path of the ledger's functions and triggers, which name their tables without a schema (docs/design.md, invariant
    // 11). Every role has the right by default.
    await client.query(`REVOKE TEMPORARY ON DATABASE ${quoted} FROM PUBLIC, ${APP_ROLE}`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`);
    await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${APP_ROLE}`);
    await client.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE}`);
    // ledger_archives is append-only but for its status (docs/operations.md, "Database roles"): the trigger refuses
    // the rest, and the role is not even granted it.
    await client.query(
      `DO $$ BEGIN IF to_regclass('public.ledger_archives') IS NOT NULL THEN
         REVOKE UPDATE, DELETE, TRUNCATE ON ledger_archives FROM ${APP_ROLE};
         GRANT UPDATE (status, detached_at) ON ledger_archives TO ${APP_ROLE};
       END IF; END $$`,
    );
  } finally {
    await client.end();
  }
  return withPassword(adminUrl, APP_ROLE, password);
}
