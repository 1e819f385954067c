import { QueryRunner } from 'typeorm';

/** Replaces, in a function's body, each text by its new one (each expected `n` times), or refuses an unknown body. */
export async function rewriteFunction(q: QueryRunner, fn: string, edits: ReadonlyArray<readonly [string, string, number]>): Promise<void> {
  const [{ def }] = (await q.query(`SELECT pg_get_functiondef($1::regproc) AS def`, [fn])) as Array<{ def: string }>;
  let body = def;
  for (const [from, to, n] of edits) {
    if (body.split(from).length !== n + 1) throw new Error(`${fn} is not the body this migration expects`);
    body = body.split(from).join(to);
  }
  await q.query(body);
}

/** The edits that take `edits` back (for down()): each inverted, last first. */
export function undone(edits: ReadonlyArray<readonly [string, string, number]>): Array<readonly [string, string, number]> {
  return [...edits].reverse().map(([from, to, n]) => [to, from, n] as const);
}
