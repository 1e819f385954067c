import { MigrationInterface, QueryRunner } from 'typeorm';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * The content hash of a card load's transfers computed by the statement that writes them (docs/design.md "Content
 * hashed where it is written", issue 17).
 *
 * Intake and settlement wrote each transaction's place in the sealing queue (journal_unsealed) in their one call,
 * then the service hashed the returned content and wrote the hashes with a second statement: an UPDATE of every queue
 * row it had just inserted (a second row version each) and one more round trip while the transaction holds the
 * accounts' turn. Now journal_content_hash() computes the same hash in the INSERT of the queue row, from the values
 * that statement writes, so intake is one statement (it needs no explicit transaction) and settlement one call fewer.
 *
 * journal_content_hash is journal-seal.ts's contentHash in SQL, for transactions without metadata (card-load
 * transfers carry none; a transfer with metadata is still hashed by its writer in Node): the same canonical text
 * (keys sorted, JSON strings as JSON.stringify writes them: Postgres's JSON escaping and V8's agree on every text
 * Postgres can store), SHA-256 of its UTF-8. test/ledger/content-hash-sql.spec.ts holds the two equal over arbitrary
 * text; the verifier recomputes every hash in Node from the stored rows, so a difference could only ever show as a
 * false alarm, never hide a change.
 */
export const CONTENT_HASH = `
CREATE FUNCTION journal_content_hash(p_id uuid, p_kind text, p_pending_id uuid, p_undoes_id uuid, p_description text,
  p_created_at timestamptz, p_codes text[], p_directions text[], p_amounts text[], p_currencies text[])
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to(
    '{"createdAt":' || to_json(to_char(p_created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
    || ',"description":' || coalesce(to_json(p_description)::text, 'null')
    || ',"entries":[' || coalesce((
         SELECT string_agg('{"amount":' || to_json(e.amount)::text || ',"code":' || to_json(e.code)::text
                           || ',"currency":' || to_json(btrim(e.currency))::text || ',"direction":' || to_json(e.direction)::text || '}',
                           ',' ORDER BY e.i)
         FROM unnest(p_codes, p_directions, p_amounts, p_currencies) WITH ORDINALITY AS e(code, direction, amount, currency, i)), '')
    || '],"id":' || to_json(p_id::text)::text
    || ',"kind":' || to_json(p_kind)::text
    || ',"metadata":{}'
    || ',"pendingId":' || coalesce(to_json(p_pending_id::text)::text, 'null')
    || ',"undoesId":' || coalesce(to_json(p_undoes_id::text)::text, 'null')
    || '}', 'UTF8'))
$$`;

/** card_load_intake: the queue row of each pending transfer carries its hash (Dr parent, Cr card, in entry order). */
const INTAKE_EDITS = [
  [`RETURNING id, created_at),`, `RETURNING id, created_at, description),`, 1],
  [
    `INSERT INTO journal_unsealed (transaction_id, created_at) SELECT id, created_at FROM t;`,
    `INSERT INTO journal_unsealed (transaction_id, created_at, content_hash)
          SELECT t.id, t.created_at, journal_content_hash(t.id, 'pending', NULL, NULL, t.description, t.created_at,
            ARRAY['parent:' || x.card_account, 'card:' || x.card], ARRAY['debit', 'credit'],
            ARRAY[x.amount::text, x.amount::text], ARRAY[x.currency::text, x.currency::text])
          FROM t JOIN x ON x.tx = t.id;`,
    1,
  ],
] as const;

/**
 * ledger_resolve_pending: the entries it copied, grouped once (g), feed both the queue row's hash and what it returns.
 * A transaction without entries (none exists: a pending transfer has two) would still be queued, with the hash of none.
 */
const ENTRIES_GROUPED = `(SELECT e.transaction_id, array_agg((SELECT a.code FROM accounts a WHERE a.id = e.account_id) ORDER BY e.entry) AS codes,
                            array_agg(e.direction ORDER BY e.entry) AS directions,
                            array_agg(e.amount::text ORDER BY e.entry) AS amounts, array_agg(e.currency::text ORDER BY e.entry) AS currencies
                     FROM e GROUP BY e.transaction_id)`;
const RESOLVE_EDITS = [
  [
    `u AS (INSERT INTO journal_unsealed (transaction_id, created_at) SELECT t.id, t.created_at FROM t)`,
    `g AS ${ENTRIES_GROUPED},
          u AS (INSERT INTO journal_unsealed (transaction_id, created_at, content_hash)
                SELECT t.id, t.created_at, journal_content_hash(t.id, t.kind, t.pending_id, NULL, t.description, t.created_at,
                  coalesce(g.codes, '{}'), coalesce(g.directions, '{}'), coalesce(g.amounts, '{}'), coalesce(g.currencies, '{}'))
                FROM t LEFT JOIN g ON t.id = g.transaction_id)`,
    1,
  ],
  [`JOIN ${ENTRIES_GROUPED} g ON g.transaction_id = t.id`, `JOIN g ON g.transaction_id = t.id`, 1],
] as const;

export class ContentHashedWhereWritten1765400000000 implements MigrationInterface {
  name = 'ContentHashedWhereWritten1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(CONTENT_HASH);
    await rewriteFunction(q, 'card_load_intake', INTAKE_EDITS);
    await rewriteFunction(q, 'ledger_resolve_pending', RESOLVE_EDITS);
  }

  async down(q: QueryRunner): Promise<void> {
    await rewriteFunction(q, 'ledger_resolve_pending', undone(RESOLVE_EDITS));
    await rewriteFunction(q, 'card_load_intake', undone(INTAKE_EDITS));
    await q.query(`DROP FUNCTION journal_content_hash(uuid, text, uuid, uuid, text, timestamptz, text[], text[], text[], text[])`);
  }
}
