import { MigrationInterface, QueryRunner } from 'typeorm';
import { CONTENT_HASH } from './1765400000000-ContentHashedWhereWritten';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * The content hash computed inline in the statements that write the sealing queue (docs/design.md "Content hashed
 * where it is written", issue 17).
 *
 * journal_content_hash aggregates its entries with a subquery, so Postgres cannot inline it: every statement that
 * calls it parses and plans its body, and every row runs it through an executor of its own (start, run, end). A
 * profile of intake at eight loads a call put 8.5 % of Postgres's time there (bench/RESULTS.md "Issue 17, eleventh
 * step"). The hash is now two functions without a subquery, which Postgres inlines into the calling statement as
 * plain expressions: journal_entry_json (one entry's JSON, as journal-seal.ts writes it) and journal_content_hash_of
 * (the transaction's JSON around its entries, hashed). Each caller builds the entries where it has them: intake from
 * its two entries, ledger_resolve_pending in the aggregate that already groups the copied entries (each entry's
 * account code looked up once: OFFSET 0 keeps the derived table from being pulled up, which would copy the lookup
 * into both aggregates).
 * journal_content_hash keeps its signature and its answers, now written with the two, for callers that hold arrays.
 */
const ENTRY_JSON = `
CREATE FUNCTION journal_entry_json(p_amount text, p_code text, p_currency text, p_direction text)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT '{"amount":' || to_json(p_amount)::text || ',"code":' || to_json(p_code)::text
    || ',"currency":' || to_json(btrim(p_currency))::text || ',"direction":' || to_json(p_direction)::text || '}'
$$`;

const HASH_OF = `
CREATE FUNCTION journal_content_hash_of(p_id uuid, p_kind text, p_pending_id uuid, p_undoes_id uuid, p_description text,
  p_created_at timestamptz, p_entries text)
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to(
    '{"createdAt":' || to_json(to_char(p_created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
    || ',"description":' || coalesce(to_json(p_description)::text, 'null')
    || ',"entries":[' || p_entries
    || '],"id":' || to_json(p_id::text)::text
    || ',"kind":' || to_json(p_kind)::text
    || ',"metadata":{}'
    || ',"pendingId":' || coalesce(to_json(p_pending_id::text)::text, 'null')
    || ',"undoesId":' || coalesce(to_json(p_undoes_id::text)::text, 'null')
    || '}', 'UTF8'))
$$`;

const CONTENT_HASH_OF_ARRAYS = `
CREATE OR REPLACE FUNCTION journal_content_hash(p_id uuid, p_kind text, p_pending_id uuid, p_undoes_id uuid, p_description text,
  p_created_at timestamptz, p_codes text[], p_directions text[], p_amounts text[], p_currencies text[])
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT journal_content_hash_of(p_id, p_kind, p_pending_id, p_undoes_id, p_description, p_created_at, coalesce((
    SELECT string_agg(journal_entry_json(e.amount, e.code, e.currency, e.direction), ',' ORDER BY e.i)
    FROM unnest(p_codes, p_directions, p_amounts, p_currencies) WITH ORDINALITY AS e(code, direction, amount, currency, i)), ''))
$$`;

const INTAKE_EDITS = [
  [
    `journal_content_hash(t.id, 'pending', NULL, NULL, t.description, t.created_at,
            ARRAY['parent:' || x.card_account, 'card:' || x.card], ARRAY['debit', 'credit'],
            ARRAY[x.amount::text, x.amount::text], ARRAY[x.currency::text, x.currency::text])`,
    `journal_content_hash_of(t.id, 'pending', NULL, NULL, t.description, t.created_at,
            journal_entry_json(x.amount::text, 'parent:' || x.card_account, x.currency::text, 'debit') || ','
            || journal_entry_json(x.amount::text, 'card:' || x.card, x.currency::text, 'credit'))`,
    1,
  ],
] as const;

const RESOLVE_EDITS = [
  [
    `g AS (SELECT e.transaction_id, array_agg((SELECT a.code FROM accounts a WHERE a.id = e.account_id) ORDER BY e.entry) AS codes,
                            array_agg(e.direction ORDER BY e.entry) AS directions,
                            array_agg(e.amount::text ORDER BY e.entry) AS amounts, array_agg(e.currency::text ORDER BY e.entry) AS currencies
                     FROM e GROUP BY e.transaction_id),`,
    `g AS (SELECT c.transaction_id, array_agg(c.code ORDER BY c.entry) AS codes,
                            array_agg(c.direction ORDER BY c.entry) AS directions,
                            array_agg(c.amount::text ORDER BY c.entry) AS amounts, array_agg(c.currency::text ORDER BY c.entry) AS currencies,
                            string_agg(journal_entry_json(c.amount::text, c.code, c.currency::text, c.direction), ',' ORDER BY c.entry) AS entries
                     FROM (SELECT e.*, (SELECT a.code FROM accounts a WHERE a.id = e.account_id) AS code FROM e OFFSET 0) c
                     GROUP BY c.transaction_id),`,
    1,
  ],
  [
    `journal_content_hash(t.id, t.kind, t.pending_id, NULL, t.description, t.created_at,
                  coalesce(g.codes, '{}'), coalesce(g.directions, '{}'), coalesce(g.amounts, '{}'), coalesce(g.currencies, '{}'))`,
    `journal_content_hash_of(t.id, t.kind, t.pending_id, NULL, t.description, t.created_at, coalesce(g.entries, ''))`,
    1,
  ],
] as const;

export class ContentHashInlined1765430000000 implements MigrationInterface {
  name = 'ContentHashInlined1765430000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(ENTRY_JSON);
    await q.query(HASH_OF);
    await q.query(CONTENT_HASH_OF_ARRAYS);
    await rewriteFunction(q, 'card_load_intake', INTAKE_EDITS);
    await rewriteFunction(q, 'ledger_resolve_pending', RESOLVE_EDITS);
  }

  async down(q: QueryRunner): Promise<void> {
    await rewriteFunction(q, 'ledger_resolve_pending', undone(RESOLVE_EDITS));
    await rewriteFunction(q, 'card_load_intake', undone(INTAKE_EDITS));
    await q.query(CONTENT_HASH.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
    await q.query(`DROP FUNCTION journal_content_hash_of(uuid, text, uuid, uuid, text, timestamptz, text)`);
    await q.query(`DROP FUNCTION journal_entry_json(text, text, text, text)`);
  }
}
