import { parse } from 'pg-connection-string';

/**
 * Postgres connection URLs as pg itself reads them (pg-connection-string), never with `new URL()`: the socket form
 * `postgresql://u:p@/db?host=/run/postgresql` has no host, which WHATWG URL parsing refuses with an error that quotes
 * the whole input, password included (docs/operations.md, "Read replicas").
 */

/** host:port/database of a connection URL, never its password; a fixed text when it cannot be read. */
export function describeUrl(url: string): string {
  try {
    const c = parse(url);
    return `${c.host ?? 'localhost'}:${c.port ?? 5432}/${c.database ?? ''}`;
  } catch {
    return '(an unreadable connection URL)';
  }
}

/** The password of a connection URL (for the logger's list of secrets), or null. */
export function urlPassword(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return parse(url).password ?? null;
  } catch {
    return null;
  }
}
