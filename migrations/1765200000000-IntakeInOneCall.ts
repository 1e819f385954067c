import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Intake's writes in one call (docs/design.md "Intake in one call", issue 17). A batch of new card loads used to
 * take ten round trips while the shared parent account stayed locked; card_load_intake() does the same
 * statements, in the same order and with the same locks, inside the database:
 *   1. the loads already committed under these idempotency keys: if there is any, they are returned and nothing
 *      is written (the caller answers the replays and calls again with the rest);
 *   2. the accounts' turn locks and the transaction's moment (ledger_begin_moment, docs/time.md), then the
 *      accounts that do not exist yet;
 *   3. the loads with their 'created' events and outbox jobs; a key taken meanwhile by a transaction that
 *      committed while this one waited raises SQLSTATE CLR01 (the caller starts the whole transaction again);
 *   4. one pending transfer per load (parent debit, card credit), its two entries and its sealing-queue row;
 *   5. balances and history through ledger_apply_deltas, moves ordered by account id as every writer orders them.
 * Every trigger (balanced entries, entries per transaction, history chain, append-only) still runs on these rows.
 * The sealing queue's content hash is left to the caller, which hashes what was stored (journal-seal.ts).
 * Nothing existing changes: the function is new, and the tables are untouched.
 */
export class IntakeInOneCall1765200000000 implements MigrationInterface {
  name = 'IntakeInOneCall1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION card_load_intake(
        p_ids uuid[], p_references text[], p_api_keys uuid[], p_idempotency_keys text[], p_hashes bytea[],
        p_cards text[], p_companies text[], p_card_accounts text[], p_amounts bigint[], p_currencies char(3)[],
        p_journal_ids uuid[], p_descriptions text[], p_remarks text[], p_metadata jsonb[], p_request_ids text[],
        p_actors text[], p_transfer_descriptions text[]) RETURNS SETOF card_loads
      LANGUAGE plpgsql AS $$
      DECLARE
        n int := cardinality(p_ids);
        written int;
        codes text[];
      BEGIN
        RETURN QUERY SELECT l.* FROM unnest(p_api_keys, p_idempotency_keys) AS k(api_key_id, idempotency_key)
          CROSS JOIN LATERAL (SELECT * FROM card_loads c
                              WHERE c.api_key_id = k.api_key_id AND c.idempotency_key = k.idempotency_key) l;
        IF FOUND THEN
          RETURN;
        END IF;

        codes := ARRAY(SELECT DISTINCT c FROM unnest(
          ARRAY(SELECT 'parent:' || a FROM unnest(p_card_accounts) a) || ARRAY(SELECT 'card:' || c FROM unnest(p_cards) c)) c);
        PERFORM ledger_begin_moment(ARRAY(
          SELECT a.id FROM unnest(codes) AS k(code) CROSS JOIN LATERAL (SELECT id FROM accounts WHERE code = k.code) a));
        INSERT INTO accounts (code, currency, normal_side)
          SELECT DISTINCT ON (code) code, currency, 'credit' FROM (
            SELECT 'parent:' || a AS code, c AS currency FROM unnest(p_card_accounts, p_currencies) AS x(a, c)
            UNION ALL SELECT 'card:' || k, c FROM unnest(p_cards, p_currencies) AS x(k, c)) s
          ORDER BY code
          ON CONFLICT (code) DO NOTHING;

        RETURN QUERY WITH x AS (
            SELECT * FROM unnest(p_ids, p_references, p_api_keys, p_idempotency_keys, p_hashes, p_cards, p_companies,
              p_card_accounts, p_amounts, p_currencies, p_journal_ids, p_descriptions, p_remarks, p_metadata, p_request_ids, p_actors)
              AS x(id, reference, api_key_id, idempotency_key, request_hash, en_kash_card_id, company_id, card_account_id,
                   amount, currency, journal_transaction_id, description, remarks, metadata, request_id, actor)),
          ins AS (
            INSERT INTO card_loads (id, reference, api_key_id, idempotency_key, request_hash, en_kash_card_id, company_id,
              card_account_id, amount, currency, journal_transaction_id, description, remarks, metadata, request_id)
            SELECT id, reference, api_key_id, idempotency_key, request_hash, en_kash_card_id, company_id, card_account_id,
              amount, currency, journal_transaction_id, description, remarks, metadata, request_id FROM x
            ON CONFLICT ON CONSTRAINT card_loads_idempotency DO NOTHING
            RETURNING *),
          ev AS (INSERT INTO load_events (load_id, type, outcome, actor, request_id)
                 SELECT ins.id, 'created', 'pending', x.actor, ins.request_id FROM ins JOIN x ON x.id = ins.id),
          job AS (INSERT INTO sync_jobs (load_id) SELECT id FROM ins)
          SELECT * FROM ins;
        GET DIAGNOSTICS written = ROW_COUNT;
        IF written < n THEN
          RAISE EXCEPTION 'card_load_intake: an idempotency key was committed by another transaction meanwhile'
            USING ERRCODE = 'CLR01';
        END IF;

        WITH x AS (
            SELECT x.*, (SELECT id FROM accounts WHERE code = 'parent:' || x.card_account) AS parent,
                        (SELECT id FROM accounts WHERE code = 'card:' || x.card) AS card_id
            FROM unnest(p_journal_ids, p_transfer_descriptions, p_card_accounts, p_cards, p_amounts, p_currencies)
                 WITH ORDINALITY AS x(tx, description, card_account, card, amount, currency, i)),
          t AS (INSERT INTO journal_transactions (id, kind, description) SELECT tx, 'pending', description FROM x ORDER BY i
                RETURNING id, created_at),
          e AS (INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
                SELECT x.tx, s.account_id, s.direction, x.amount, x.currency
                FROM x CROSS JOIN LATERAL (VALUES (1, x.parent, 'debit'), (2, x.card_id, 'credit')) AS s(n, account_id, direction)
                WHERE EXISTS (SELECT 1 FROM t WHERE t.id = x.tx)
                ORDER BY x.i, s.n)
        INSERT INTO journal_unsealed (transaction_id, created_at) SELECT id, created_at FROM t;

        PERFORM ledger_apply_deltas(array_agg(m.tx ORDER BY m.account_id, m.i, m.n), array_agg('load_pending'::text ORDER BY m.account_id, m.i, m.n),
          array_agg(m.load ORDER BY m.account_id, m.i, m.n), array_agg(m.account_id ORDER BY m.account_id, m.i, m.n),
          array_agg(m.pd ORDER BY m.account_id, m.i, m.n), array_agg(m.pc ORDER BY m.account_id, m.i, m.n),
          array_agg(0::bigint ORDER BY m.account_id, m.i, m.n), array_agg(0::bigint ORDER BY m.account_id, m.i, m.n))
        FROM (SELECT x.i, s.n, x.tx, x.load, s.account_id, s.pd, s.pc
              FROM unnest(p_journal_ids, p_ids, p_card_accounts, p_cards, p_amounts) WITH ORDINALITY AS x(tx, load, card_account, card, amount, i)
              CROSS JOIN LATERAL (VALUES
                (1, (SELECT id FROM accounts WHERE code = 'parent:' || x.card_account), x.amount, 0::bigint),
                (2, (SELECT id FROM accounts WHERE code = 'card:' || x.card), 0::bigint, x.amount)) AS s(n, account_id, pd, pc)) m;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION card_load_intake(uuid[], text[], uuid[], text[], bytea[], text[], text[], text[], bigint[], char(3)[],
      uuid[], text[], text[], jsonb[], text[], text[], text[])`);
  }
}
