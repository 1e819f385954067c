/**
 * `FROM <table> <alias>` restricted to the rows whose key is in the array $1 (uuid, or text), as a primary-key (or
 * key-index) lookup per element. The obvious `WHERE id = ANY($1)` lets the planner pick a sequential scan
 * that compares every row with every element: on a 40,000-row journal, 1,000 ids cost 130-230 ms instead of
 * 20-30, and the cost grows with the table. `perKey` bounds the rows one key may match (1 for a primary key).
 */
export function byIds(table: string, alias: string, key = 'id', perKey = 1, keyType: 'uuid' | 'text' = 'uuid'): string {
  return `unnest($1::${keyType}[]) AS ${alias}_key(id)
    CROSS JOIN LATERAL (SELECT * FROM ${table} WHERE ${key} = ${alias}_key.id LIMIT ${perKey}) ${alias}`;
}
