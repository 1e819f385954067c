-- The whole live schema of card-ledger (tables, indexes, constraints, sequences, functions, triggers) as the
-- migrations in migrations/ leave it: pg_dump --schema-only --no-owner --no-privileges of a database migrated
-- fresh, normalised (no version banner, no SET lines, no per-run keys). Generated, never edited by hand:
-- regenerate with `npm run schema:dump`; test/database/schema.spec.ts fails when this file and the migrations differ.

-- Name: ledger_archive; Type: SCHEMA; Schema: -; Owner: -

CREATE SCHEMA ledger_archive;

-- Name: pgcrypto; Type: EXTENSION; Schema: -; Owner: -

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;

-- Name: EXTENSION pgcrypto; Type: COMMENT; Schema: -; Owner: -

COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';

-- Name: ledger_move; Type: TYPE; Schema: public; Owner: -

CREATE TYPE public.ledger_move AS (
	i bigint,
	tx uuid,
	ev text,
	load uuid,
	id bigint,
	pd bigint,
	pc bigint,
	sd bigint,
	sc bigint,
	seq bigint,
	npd bigint,
	npc bigint,
	nsd bigint,
	nsc bigint,
	is_last boolean,
	prev_id bigint,
	normal_side text,
	no_overdraft boolean,
	known boolean
);

-- Name: account_balances_at(bigint, timestamp with time zone, boolean); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.account_balances_at(p_account bigint, p_at timestamp with time zone, p_carried boolean) RETURNS TABLE(pending_debits bigint, pending_credits bigint, posted_debits bigint, posted_credits bigint)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
  BEGIN
    RETURN QUERY SELECT b.* FROM accounts a CROSS JOIN LATERAL (
        (SELECT a.pending_debits, a.pending_credits, a.posted_debits, a.posted_credits
         WHERE CASE WHEN a.history_seq = 0 THEN a.created_at ELSE a.history_at END <= p_at)
        UNION ALL
        (SELECT h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits FROM account_history h
         WHERE h.account_id = a.id AND h.at <= p_at ORDER BY h.at DESC, h.seq DESC LIMIT 1)
        UNION ALL
        (SELECT c.pending_debits, c.pending_credits, c.posted_debits, c.posted_credits FROM account_history_carried c
         WHERE p_carried AND c.account_id = a.id ORDER BY c.seq DESC LIMIT 1)
        LIMIT 1) b
      WHERE a.id = p_account;
  END $$;

-- Name: account_history_check_chain_set(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.account_history_check_chain_set() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  bad record;
BEGIN
  SELECT n.account_id, n.seq, p.at IS NOT NULL AS found, d.n AS copies INTO bad FROM new_rows n
  LEFT JOIN LATERAL (
    (SELECT h.at, h.pending_debits, h.pending_credits, h.posted_debits, h.posted_credits FROM account_history h
     WHERE h.account_id = n.account_id AND h.seq = n.seq - 1 AND n.seq > 0 AND h.at <= n.at ORDER BY h.at DESC LIMIT 1)
    UNION ALL
    (SELECT c.at, c.pending_debits, c.pending_credits, c.posted_debits, c.posted_credits FROM account_history_carried c
     WHERE c.account_id = n.account_id AND c.seq = n.seq - 1 AND n.seq > 0 AND c.at <= n.at)
    LIMIT 1) p ON true
  CROSS JOIN LATERAL (SELECT count(*) AS n FROM account_history d
                      WHERE d.account_id = n.account_id AND d.seq = n.seq AND d.at >= coalesce(p.at, '-infinity')) d
  WHERE d.n > 1 OR CASE WHEN n.seq = 0
    THEN n.pending_debits <> 0 OR n.pending_credits <> 0 OR n.posted_debits <> 0 OR n.posted_credits <> 0
    ELSE p.at IS NULL
      OR n.pending_debits  <> p.pending_debits  + n.d_pending_debits
      OR n.pending_credits <> p.pending_credits + n.d_pending_credits
      OR n.posted_debits   <> p.posted_debits   + n.d_posted_debits
      OR n.posted_credits  <> p.posted_credits  + n.d_posted_credits END
  LIMIT 1;
  IF FOUND AND bad.copies > 1 THEN
    RAISE EXCEPTION 'history row %/% exists already', bad.account_id, bad.seq
      USING ERRCODE = '23505', CONSTRAINT = 'account_history_chain';
  ELSIF FOUND AND bad.seq = 0 THEN
    RAISE EXCEPTION 'opening history row must be zero' USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
  ELSIF FOUND THEN
    RAISE EXCEPTION 'history row %/% does not continue the previous row', bad.account_id, bad.seq
      USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
  END IF;
  -- References (docs/design.md, invariant 11): an opening row's account exists (every later row continues one);
  -- each transaction named exists, one probe per distinct transaction of the statement. NOT (SELECT EXISTS …), not
  -- NOT EXISTS: an anti-join would leave the planner free to scan the whole table once per statement.
  SELECT n.account_id INTO bad FROM new_rows n
  WHERE n.seq = 0 AND NOT (SELECT EXISTS (SELECT 1 FROM accounts a WHERE a.id = n.account_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'history row refers to account %, which does not exist', bad.account_id
      USING ERRCODE = '23503', CONSTRAINT = 'account_history_account_id_fkey';
  END IF;
  SELECT k.transaction_id INTO bad FROM (SELECT DISTINCT transaction_id FROM new_rows WHERE transaction_id IS NOT NULL) k
  WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = k.transaction_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'history row refers to journal transaction %, which does not exist', bad.transaction_id
      USING ERRCODE = '23503', CONSTRAINT = 'account_history_transaction_id_fkey';
  END IF;
  RETURN NULL;
END $$;

-- Name: account_history_page(bigint, boolean, bigint, bigint, timestamp with time zone, timestamp with time zone, integer); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.account_history_page(p_account bigint, p_desc boolean, p_after_seq bigint, p_before_seq bigint, p_from timestamp with time zone, p_to timestamp with time zone, p_limit integer) RETURNS TABLE(seq bigint, at timestamp with time zone, event text, load_id uuid, transaction_id uuid, description text, d_pending_debits bigint, d_pending_credits bigint, d_posted_debits bigint, d_posted_credits bigint, pending_debits bigint, pending_credits bigint, posted_debits bigint, posted_credits bigint)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
  #variable_conflict use_column
  BEGIN
    IF p_desc THEN
      RETURN QUERY SELECT h.seq, h.at, h.event, h.load_id, h.transaction_id, t.description, h.d_pending_debits,
          h.d_pending_credits, h.d_posted_debits, h.d_posted_credits, h.pending_debits, h.pending_credits, h.posted_debits,
          h.posted_credits
        FROM account_history h LEFT JOIN journal_transactions t ON t.id = h.transaction_id
        WHERE h.account_id = p_account AND h.seq > p_after_seq AND h.seq < p_before_seq
          AND h.at >= p_from AND h.at < p_to
        ORDER BY h.seq DESC LIMIT p_limit;
    ELSE
      RETURN QUERY SELECT h.seq, h.at, h.event, h.load_id, h.transaction_id, t.description, h.d_pending_debits,
          h.d_pending_credits, h.d_posted_debits, h.d_posted_credits, h.pending_debits, h.pending_credits, h.posted_debits,
          h.posted_credits
        FROM account_history h LEFT JOIN journal_transactions t ON t.id = h.transaction_id
        WHERE h.account_id = p_account AND h.seq > p_after_seq AND h.seq < p_before_seq
          AND h.at >= p_from AND h.at < p_to
        ORDER BY h.seq ASC LIMIT p_limit;
    END IF;
  END $$;

-- Name: accounts_open_history_set(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.accounts_open_history_set() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  INSERT INTO account_history (account_id, seq, event, at, pending_debits, pending_credits, posted_debits, posted_credits)
  SELECT id, 0, 'opening', created_at, 0, 0, 0, 0 FROM new_accounts ORDER BY id;
  RETURN NULL;
END $$;

-- Name: audit_events_continue_chain(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.audit_events_continue_chain() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  head audit_chain_head%ROWTYPE;
BEGIN
  SELECT * INTO head FROM audit_chain_head WHERE id = 1 FOR UPDATE;
  IF NEW.seq <> head.seq + 1 OR NEW.prev_hash <> head.hash THEN
    RAISE EXCEPTION 'audit event % does not continue the chain (head is %)', NEW.seq, head.seq
      USING ERRCODE = '23514', CONSTRAINT = 'audit_events_chain';
  END IF;
  UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
  RETURN NEW;
END $$;

-- Name: ledger_moment(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_moment() RETURNS timestamp with time zone
    LANGUAGE plpgsql
    AS $$
DECLARE
  fixed text := current_setting('card_ledger.moment', true);
  m timestamptz;
BEGIN
  IF fixed IS NOT NULL AND fixed <> '' THEN
    RETURN timestamptz 'epoch' + fixed::bigint * interval '1 millisecond';
  END IF;
  -- In flight first, clock second: a reader that sees no writer knows any later moment is later than its look.
  PERFORM pg_current_xact_id();
  m := date_trunc('milliseconds', clock_timestamp());
  PERFORM set_config('card_ledger.moment', (extract(epoch FROM m) * 1000)::bigint::text, true);
  RETURN m;
END $$;

-- Name: card_loads; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.card_loads (
    id uuid NOT NULL,
    reference text NOT NULL,
    api_key_id uuid NOT NULL,
    idempotency_key text NOT NULL,
    request_hash bytea NOT NULL,
    en_kash_card_id text NOT NULL,
    company_id text NOT NULL,
    card_account_id text NOT NULL,
    amount bigint NOT NULL,
    currency character(3) NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    status_reason text,
    attempts integer DEFAULT 0 NOT NULL,
    journal_transaction_id uuid NOT NULL,
    description text,
    remarks text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    request_id text,
    created_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    updated_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    posted_at timestamp with time zone,
    reversed_at timestamp with time zone,
    undone_at timestamp with time zone,
    CONSTRAINT card_loads_amount_check CHECK ((amount > 0)),
    CONSTRAINT card_loads_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'posted'::text, 'reversed'::text, 'needs_review'::text])))
);

-- Name: card_load_intake(uuid[], text[], uuid[], text[], bytea[], text[], text[], text[], bigint[], character[], uuid[], text[], text[], jsonb[], text[], text[], text[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.card_load_intake(p_ids uuid[], p_references text[], p_api_keys uuid[], p_idempotency_keys text[], p_hashes bytea[], p_cards text[], p_companies text[], p_card_accounts text[], p_amounts bigint[], p_currencies character[], p_journal_ids uuid[], p_descriptions text[], p_remarks text[], p_metadata jsonb[], p_request_ids text[], p_actors text[], p_transfer_descriptions text[]) RETURNS SETOF public.card_loads
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
      DECLARE
        n int := cardinality(p_ids);
        written int;
        codes text[];
        known bigint[];
      BEGIN
        RETURN QUERY SELECT l.* FROM unnest(p_api_keys, p_idempotency_keys) AS k(api_key_id, idempotency_key)
          CROSS JOIN LATERAL (SELECT * FROM card_loads c
                              WHERE c.api_key_id = k.api_key_id AND c.idempotency_key = k.idempotency_key
                                    AND (c.api_key_id, c.idempotency_key) >= (k.api_key_id, k.idempotency_key) LIMIT 1) l;
        IF FOUND THEN
          RETURN;
        END IF;

        codes := ARRAY(SELECT DISTINCT c FROM unnest(
          ARRAY(SELECT 'parent:' || a FROM unnest(p_card_accounts) a) || ARRAY(SELECT 'card:' || c FROM unnest(p_cards) c)) c);
        known := ARRAY(
          SELECT a.id FROM unnest(codes) AS k(code) CROSS JOIN LATERAL (SELECT id FROM accounts WHERE code = k.code LIMIT 1) a);
        PERFORM ledger_begin_moment(known);
        IF cardinality(known) < cardinality(codes) THEN
        INSERT INTO accounts (code, currency, normal_side)
          SELECT DISTINCT ON (code) code, currency, 'credit' FROM (
            SELECT 'parent:' || a AS code, c AS currency FROM unnest(p_card_accounts, p_currencies) AS x(a, c)
            UNION ALL SELECT 'card:' || k, c FROM unnest(p_cards, p_currencies) AS x(k, c)) s
          ORDER BY code
          ON CONFLICT (code) DO NOTHING;
        END IF;

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
                RETURNING id, created_at, description),
          e AS (INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
                SELECT x.tx, s.account_id, s.direction, x.amount, x.currency
                FROM x CROSS JOIN LATERAL (VALUES (1, x.parent, 'debit'), (2, x.card_id, 'credit')) AS s(n, account_id, direction)
                WHERE EXISTS (SELECT 1 FROM t WHERE t.id = x.tx)
                ORDER BY x.i, s.n)
        INSERT INTO journal_unsealed (transaction_id, created_at, content_hash)
          SELECT t.id, t.created_at, journal_content_hash_of(t.id, 'pending', NULL, NULL, t.description, t.created_at,
            journal_entry_json(x.amount::text, 'parent:' || x.card_account, x.currency::text, 'debit') || ','
            || journal_entry_json(x.amount::text, 'card:' || x.card, x.currency::text, 'credit'))
          FROM t JOIN x ON x.tx = t.id;

        PERFORM ledger_apply_deltas(array_agg(m.tx ORDER BY m.account_id, m.i, m.n), array_agg('load_pending'::text ORDER BY m.account_id, m.i, m.n),
          array_agg(m.load ORDER BY m.account_id, m.i, m.n), array_agg(m.account_id ORDER BY m.account_id, m.i, m.n),
          array_agg(m.pd ORDER BY m.account_id, m.i, m.n), array_agg(m.pc ORDER BY m.account_id, m.i, m.n),
          array_agg(0::bigint ORDER BY m.account_id, m.i, m.n), array_agg(0::bigint ORDER BY m.account_id, m.i, m.n))
        FROM (SELECT x.i, s.n, x.tx, x.load, s.account_id, s.pd, s.pc
              FROM unnest(p_journal_ids, p_ids, p_card_accounts, p_cards, p_amounts) WITH ORDINALITY AS x(tx, load, card_account, card, amount, i)
              CROSS JOIN LATERAL (VALUES
                (1, (SELECT id FROM accounts WHERE code = 'parent:' || x.card_account), x.amount, 0::bigint),
                (2, (SELECT id FROM accounts WHERE code = 'card:' || x.card), 0::bigint, x.amount)) AS s(n, account_id, pd, pc)) m;
      END $$;

-- Name: card_loads_guard(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.card_loads_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'card loads are never deleted' USING ERRCODE = 'P0001';
  END IF;
  IF NEW.id <> OLD.id OR NEW.reference <> OLD.reference OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency
     OR NEW.en_kash_card_id <> OLD.en_kash_card_id OR NEW.company_id <> OLD.company_id
     OR NEW.card_account_id <> OLD.card_account_id OR NEW.journal_transaction_id <> OLD.journal_transaction_id
     OR NEW.idempotency_key <> OLD.idempotency_key OR NEW.api_key_id <> OLD.api_key_id
     OR NEW.request_hash <> OLD.request_hash OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'card load % : requested fields are immutable', OLD.id USING ERRCODE = 'P0001';
  END IF;
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'pending' AND NEW.status IN ('posted', 'reversed', 'needs_review'))
    OR (OLD.status = 'needs_review' AND NEW.status IN ('posted', 'reversed'))) THEN
    RAISE EXCEPTION 'card load % : % -> % is not a legal transition', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'P0001', CONSTRAINT = 'card_loads_transition';
  END IF;
  RETURN NEW;
END $$;

-- Name: card_loads_settle(uuid[], text[], text[], integer[], text[], text[], integer[], text[], uuid[], text[], text[], uuid[], uuid[], text[], text[], text[], text[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.card_loads_settle(a_loads uuid[], a_types text[], a_outcomes text[], a_http integer[], a_codes text[], a_messages text[], a_ms integer[], a_requests text[], p_pending uuid[], p_kinds text[], p_events text[], p_loads uuid[], p_ids uuid[], s_statuses text[], s_reasons text[], s_actors text[], s_requests text[]) RETURNS TABLE(id uuid, pending_id uuid, kind text, description text, created_at timestamp with time zone, created_at_utc text, codes text[], directions text[], amounts text[], currencies text[])
    LANGUAGE plpgsql
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
      #variable_conflict use_column
      BEGIN
        RETURN QUERY SELECT * FROM ledger_resolve_pending(p_pending, p_kinds, p_events, p_loads, p_ids);

        WITH a AS (SELECT * FROM unnest(a_loads, a_types, a_outcomes, a_http, a_codes, a_messages, a_ms, a_requests)
                   WITH ORDINALITY AS a(load_id, type, outcome, http_status, code, message, duration_ms, request_id, i)),
             s AS (SELECT * FROM unnest(p_loads, s_statuses, s_reasons, s_actors, s_requests)
                   WITH ORDINALITY AS s(load_id, status, reason, actor, request_id, i)),
             ev AS (INSERT INTO load_events (load_id, type, outcome, http_status, code, message, duration_ms, actor, request_id)
                    SELECT e.load_id, e.type, e.outcome, e.http_status, e.code, e.message, e.duration_ms, e.actor, e.request_id
                    FROM (SELECT a.load_id, a.type, a.outcome, a.http_status, a.code, a.message, a.duration_ms,
                                 'sync-worker' AS actor, a.request_id, 1 AS part, a.i FROM a
                          UNION ALL
                          SELECT s.load_id, 'settled', s.status, NULL, NULL, s.reason, NULL, s.actor, s.request_id, 2, s.i FROM s) e
                    ORDER BY e.part, e.i),
             n AS (SELECT a.load_id, count(*)::int AS count FROM a GROUP BY a.load_id),
             c AS (SELECT coalesce(s.load_id, n.load_id) AS load_id, coalesce(n.count, 0) AS count, s.status, s.reason
                   FROM n FULL JOIN s ON s.load_id = n.load_id)
        UPDATE card_loads l SET attempts = l.attempts + c.count, updated_at = ledger_moment(),
          status = coalesce(c.status, l.status),
          status_reason = CASE WHEN c.status IS NULL THEN l.status_reason ELSE c.reason END,
          posted_at = CASE WHEN c.status IS NULL THEN l.posted_at WHEN c.status = 'posted' THEN ledger_moment() END,
          reversed_at = CASE WHEN c.status IS NULL THEN l.reversed_at WHEN c.status = 'reversed' THEN ledger_moment() END
        FROM c WHERE l.id = c.load_id AND l.id = ANY(a_loads || p_loads);

        DELETE FROM sync_jobs j WHERE j.load_id = ANY(p_loads);
      END $$;

-- Name: card_loads_touch(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.card_loads_touch() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  NEW.updated_at := ledger_moment();
  RETURN NEW;
END $$;

-- Name: journal_content_hash(uuid, text, uuid, uuid, text, timestamp with time zone, text[], text[], text[], text[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.journal_content_hash(p_id uuid, p_kind text, p_pending_id uuid, p_undoes_id uuid, p_description text, p_created_at timestamp with time zone, p_codes text[], p_directions text[], p_amounts text[], p_currencies text[]) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT journal_content_hash_of(p_id, p_kind, p_pending_id, p_undoes_id, p_description, p_created_at, coalesce((
    SELECT string_agg(journal_entry_json(e.amount, e.code, e.currency, e.direction), ',' ORDER BY e.i)
    FROM unnest(p_codes, p_directions, p_amounts, p_currencies) WITH ORDINALITY AS e(code, direction, amount, currency, i)), ''))
$$;

-- Name: journal_content_hash_of(uuid, text, uuid, uuid, text, timestamp with time zone, text); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.journal_content_hash_of(p_id uuid, p_kind text, p_pending_id uuid, p_undoes_id uuid, p_description text, p_created_at timestamp with time zone, p_entries text) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
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
$$;

-- Name: journal_entries_check_balanced(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.journal_entries_check_balanced() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  bad record;
BEGIN
  -- An entry carries its transaction's moment, the partition key by which the lookups below and every read by
  -- transaction find it (migration 1765300000000): one with another moment would be invisible to them.
  -- A transaction that does not exist has no moment: the same probe finds it (docs/design.md, invariant 11).
  SELECT n.transaction_id INTO bad FROM (SELECT DISTINCT transaction_id, created_at FROM new_entries) n
  WHERE (SELECT t.created_at FROM journal_transactions t WHERE t.id = n.transaction_id) IS DISTINCT FROM n.created_at LIMIT 1;
  IF FOUND AND NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = bad.transaction_id) THEN
    RAISE EXCEPTION 'journal entry refers to journal transaction %, which does not exist', bad.transaction_id
      USING ERRCODE = '23503', CONSTRAINT = 'journal_entries_transaction_id_fkey';
  ELSIF FOUND THEN
    RAISE EXCEPTION 'journal transaction % has entries with another moment than its own', bad.transaction_id
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  -- Every query here looks rows up by key, one per touched row: a join the planner is free to choose would
  -- scan the whole journal once per statement, and the journal only grows.
  SELECT k.transaction_id, s.n INTO bad
  FROM (SELECT DISTINCT transaction_id, created_at FROM new_entries) k
  CROSS JOIN LATERAL (
    SELECT sum(c.n) AS n, bool_or(c.net <> 0) AS unbalanced
    FROM (SELECT count(*) AS n, sum(CASE e.direction WHEN 'debit' THEN e.amount ELSE -e.amount END) AS net
          FROM journal_entries e WHERE e.transaction_id = k.transaction_id AND e.created_at = k.created_at GROUP BY e.currency) c) s
  WHERE s.n < 2 OR s.n > 100 OR s.unbalanced LIMIT 1;
  IF FOUND AND bad.n < 2 THEN
    RAISE EXCEPTION 'journal transaction % has % entries; at least two are required', bad.transaction_id, bad.n
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  ELSIF FOUND AND bad.n > 100 THEN
    -- The ledger's bound (MAX_ENTRIES); readers fetch at most that many entries per transaction.
    RAISE EXCEPTION 'journal transaction % has % entries; at most 100 are allowed', bad.transaction_id, bad.n
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  ELSIF FOUND THEN
    RAISE EXCEPTION 'journal transaction % does not balance', bad.transaction_id
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  SELECT n.currency, n.account_id INTO bad FROM new_entries n
  WHERE (SELECT a.currency FROM accounts a WHERE a.id = n.account_id) IS DISTINCT FROM n.currency LIMIT 1;
  IF FOUND AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = bad.account_id) THEN
    RAISE EXCEPTION 'journal entry refers to account %, which does not exist', bad.account_id
      USING ERRCODE = '23503', CONSTRAINT = 'journal_entries_account_id_fkey';
  ELSIF FOUND THEN
    RAISE EXCEPTION 'entry currency % differs from its account', bad.currency
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_currency';
  END IF;
  RETURN NULL;
END $$;

-- Name: journal_entry_json(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.journal_entry_json(p_amount text, p_code text, p_currency text, p_direction text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT '{"amount":' || to_json(p_amount)::text || ',"code":' || to_json(p_code)::text
    || ',"currency":' || to_json(btrim(p_currency))::text || ',"direction":' || to_json(p_direction)::text || '}'
$$;

-- Name: journal_seals_keep_keyed(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.journal_seals_keep_keyed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_seals WHERE mac IS NULL) AND (
       EXISTS (SELECT 1 FROM new_seals WHERE mac IS NOT NULL)
    OR EXISTS (SELECT 1 FROM journal_seals s WHERE s.seq = (SELECT min(seq) FROM new_seals) - 1 AND s.mac IS NOT NULL)) THEN
    RAISE EXCEPTION 'journal_seals: the chain is keyed, a seal without a MAC is refused (an instance without the audit key?)'
      USING ERRCODE = '23514', CONSTRAINT = 'journal_seals_keyed';
  END IF;
  -- References (docs/design.md, invariant 11): each sealed transaction exists.
  IF EXISTS (SELECT 1 FROM new_seals n WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = n.transaction_id))) THEN
    RAISE EXCEPTION 'seal refers to journal transaction %, which does not exist',
      (SELECT n.transaction_id FROM new_seals n
       WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = n.transaction_id)) LIMIT 1)
      USING ERRCODE = '23503', CONSTRAINT = 'journal_seals_transaction_id_fkey';
  END IF;
  RETURN NULL;
END $$;

-- Name: journal_transactions_check_entries(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.journal_transactions_check_entries() RETURNS trigger
    LANGUAGE plpgsql
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
DECLARE
  bad uuid;
BEGIN
  SELECT t.id INTO bad FROM new_transactions t
  WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_entries e WHERE e.transaction_id = t.id)) LIMIT 1; -- not an anti-join: a lookup per row
  IF FOUND THEN
    RAISE EXCEPTION 'journal transaction % has 0 entries; at least two are required', bad
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  -- References (docs/design.md, invariant 11): the pending transfer a resolution names, the transaction an undo names.
  SELECT t.pending_id INTO bad FROM new_transactions t
  WHERE t.pending_id IS NOT NULL AND NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions p WHERE p.id = t.pending_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal transaction refers to pending transfer %, which does not exist', bad
      USING ERRCODE = '23503', CONSTRAINT = 'journal_transactions_pending_id_fkey';
  END IF;
  SELECT t.undoes_id INTO bad FROM new_transactions t
  WHERE t.undoes_id IS NOT NULL AND NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions u WHERE u.id = t.undoes_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal transaction refers to journal transaction % as the one it undoes, which does not exist', bad
      USING ERRCODE = '23503', CONSTRAINT = 'journal_transactions_undoes_id_fkey';
  END IF;
  RETURN NULL;
END $$;

-- Name: journal_unsealed_check_transaction(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.journal_unsealed_check_transaction() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  bad uuid;
BEGIN
  -- docs/design.md, invariant 11: one probe per row named, no lock (a journal_transactions row is never deleted, its id never changes).
  SELECT k.transaction_id INTO bad FROM (SELECT DISTINCT transaction_id FROM new_unsealed) k
  WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions x WHERE x.id = k.transaction_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'unsealed row refers to journal transaction %, which does not exist', bad
      USING ERRCODE = '23503', CONSTRAINT = 'journal_unsealed_transaction_id_fkey';
  END IF;
  RETURN NULL;
END $$;

-- Name: ledger_apply_deltas(uuid[], text[], uuid[], bigint[], bigint[], bigint[], bigint[], bigint[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_apply_deltas(p_txs uuid[], p_events text[], p_loads uuid[], p_ids bigint[], p_pd bigint[], p_pc bigint[], p_sd bigint[], p_sc bigint[]) RETURNS void
    LANGUAGE plpgsql
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    SET jit TO 'off'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
  moment timestamptz;
  latest timestamptz;
  bad record;
  moves ledger_move[];
  unknown boolean;
BEGIN
  PERFORM ledger_lock_accounts(p_ids);
  PERFORM 1 FROM (SELECT DISTINCT unnest(p_ids) AS id ORDER BY 1) k
    CROSS JOIN LATERAL (SELECT 1 FROM accounts a WHERE a.id = k.id FOR NO KEY UPDATE) l;
  moment := ledger_moment();
  SELECT max(CASE WHEN a.history_seq = 0 THEN a.created_at ELSE a.history_at END),
         bool_or(a.history_seq > 0 AND a.history_at IS NULL) INTO latest, unknown
    FROM (SELECT DISTINCT unnest(p_ids) AS id) k
    CROSS JOIN LATERAL (SELECT a.history_seq, a.history_at, a.created_at FROM accounts a WHERE a.id = k.id) a;
  IF unknown THEN
    SELECT max(h.at) INTO latest FROM (SELECT DISTINCT unnest(p_ids) AS id) k
    CROSS JOIN LATERAL (SELECT h.at FROM accounts a CROSS JOIN LATERAL (SELECT h.at FROM account_history h
                        WHERE h.account_id = a.id AND h.seq = a.history_seq ORDER BY h.at DESC LIMIT 1) h
                        WHERE a.id = k.id LIMIT 1) h;
  END IF;
  IF latest > moment THEN
    IF current_setting('card_ledger.moment_after_locks', true) = 'on' THEN
      RAISE EXCEPTION 'ledger moment % precedes the last change (%) of an account it moves; retry the transaction', moment, latest
        USING ERRCODE = '40001';
    END IF;
    moment := latest;
  END IF;
  moves := ARRAY(SELECT ROW(p.*)::ledger_move FROM ledger_plan_moves(p_txs, p_events, p_loads, p_ids, p_pd, p_pc, p_sd, p_sc) p);
  SELECT * INTO bad FROM unnest(moves) p
  WHERE p.id < p.prev_id OR NOT p.known OR p.npd < 0 OR p.npc < 0 OR p.nsd < 0 OR p.nsc < 0
    OR (p.no_overdraft AND CASE p.normal_side WHEN 'credit' THEN p.nsc - p.nsd - p.npd ELSE p.nsd - p.nsc - p.npc END < 0)
  ORDER BY p.i LIMIT 1;
  IF FOUND THEN
    IF bad.id < bad.prev_id THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account ids must be ascending' USING ERRCODE = 'P0001';
    ELSIF NOT bad.known THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account % does not exist', bad.id USING ERRCODE = 'P0001';
    ELSIF bad.npd < 0 OR bad.npc < 0 OR bad.nsd < 0 OR bad.nsc < 0 THEN
      RAISE EXCEPTION 'ledger_apply_deltas: account % would have a negative sum', bad.id USING ERRCODE = 'P0001';
    END IF;
    RAISE EXCEPTION 'new row for relation "accounts" violates check constraint "accounts_no_overdraft"'
      USING ERRCODE = '23514', CONSTRAINT = 'accounts_no_overdraft', TABLE = 'accounts';
  END IF;
  WITH p AS MATERIALIZED (SELECT * FROM unnest(moves)),
  h AS (
    INSERT INTO account_history (account_id, seq, transaction_id, event, load_id, at,
      d_pending_debits, d_pending_credits, d_posted_debits, d_posted_credits,
      pending_debits, pending_credits, posted_debits, posted_credits)
    SELECT p.id, p.seq, p.tx, p.ev, p.load, moment, p.pd, p.pc, p.sd, p.sc, p.npd, p.npc, p.nsd, p.nsc FROM p ORDER BY p.id, p.seq)
  UPDATE accounts a SET pending_debits = p.npd, pending_credits = p.npc, posted_debits = p.nsd, posted_credits = p.nsc,
    history_seq = p.seq, history_at = moment
  FROM p WHERE p.id = a.id AND p.is_last;
END $$;

-- Name: ledger_archives_guard(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_archives_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status = 'detaching' AND NEW.status = 'detached'
     AND (NEW.hi, NEW.lo, NEW.entries_table, NEW.history_table, NEW.last_seal_seq, NEW.last_seal_hash, NEW.transactions,
          NEW.entries, NEW.history_rows, NEW.started_at)
         IS NOT DISTINCT FROM (OLD.hi, OLD.lo, OLD.entries_table, OLD.history_table, OLD.last_seal_seq, OLD.last_seal_hash,
          OLD.transactions, OLD.entries, OLD.history_rows, OLD.started_at) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'ledger_archives is append-only (only detaching -> detached): % refused', TG_OP
    USING ERRCODE = '23514', CONSTRAINT = 'ledger_archives_append_only';
END $$;

-- Name: ledger_await_final(timestamp with time zone, integer, integer); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_await_final(p_at timestamp with time zone, p_wait_ms integer, p_horizon_ms integer, OUT cut timestamp with time zone, OUT watermark timestamp with time zone) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
BEGIN
  cut := p_at;
  IF cut IS NULL OR cut > t0 + p_horizon_ms * interval '1 millisecond' THEN
    cut := date_trunc('milliseconds', t0);
  END IF;
  LOOP
    watermark := ledger_watermark();
    EXIT WHEN watermark > cut OR clock_timestamp() >= t0 + p_wait_ms * interval '1 millisecond';
    PERFORM pg_sleep(0.0005);
  END LOOP;
END $$;

-- Name: ledger_begin_moment(bigint[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_begin_moment(p_ids bigint[]) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    AS $$
DECLARE
  fixed text := current_setting('card_ledger.moment', true);
BEGIN
  PERFORM ledger_lock_accounts(p_ids);
  IF fixed IS NULL OR fixed = '' THEN
    PERFORM set_config('card_ledger.moment_after_locks', 'on', true);
  END IF;
  RETURN ledger_moment();
END $$;

-- Name: ledger_ensure_partitions(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_ensure_partitions(p_until timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
  t record;
  lo timestamptz;
  hi timestamptz;
  part text;
  made int := 0;
BEGIN
  IF p_until > now() + interval '1 year' THEN
    RAISE EXCEPTION 'ledger_ensure_partitions: % is more than a year ahead', p_until USING ERRCODE = '22023';
  END IF;
  PERFORM set_config('lock_timeout', '1s', true);
  FOR t IN SELECT * FROM (VALUES ('journal_entries', 'created_at'), ('account_history', 'at')) AS x(parent, col) LOOP
    SELECT max(b.hi) INTO hi FROM ledger_partitions() b WHERE b.parent = t.parent;
    WHILE hi <= p_until LOOP
      lo := hi;
      hi := (lo AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
      part := t.parent || '_' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
      EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, t.parent);
      EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', t.parent, part, lo, hi);
      PERFORM ledger_partition_triggers(t.parent, part);
      made := made + 1;
    END LOOP;
  END LOOP;
  RETURN made;
END $$;

-- Name: ledger_lock_accounts(bigint[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_lock_accounts(p_ids bigint[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
  k int;
BEGIN
  FOR k IN SELECT DISTINCT (id % 2147483647)::int FROM unnest(p_ids) AS id ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(176480, k);
  END LOOP;
END $$;

-- Name: ledger_partition_triggers(text, text); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_partition_triggers(p_parent text, p_part text) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF p_parent = 'journal_entries' THEN
    EXECUTE format('CREATE TRIGGER journal_entries_balanced AFTER INSERT ON %I REFERENCING NEW TABLE AS new_entries
                    FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_check_balanced()', p_part);
  ELSE
    EXECUTE format('CREATE TRIGGER account_history_chain AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION account_history_check_chain_set()', p_part);
  END IF;
  EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()',
                 p_parent || '_no_truncate', p_part);
END $$;

-- Name: ledger_partitions(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_partitions() RETURNS TABLE(parent text, part text, lo timestamp with time zone, hi timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
  SELECT p.relname::text, c.relname::text,
    CASE WHEN b.def LIKE '%MINVALUE%' THEN '-infinity'::timestamptz ELSE substring(b.def FROM 'FROM \(''([^'']+)''\)')::timestamptz END,
    substring(b.def FROM 'TO \(''([^'']+)''\)')::timestamptz
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
  CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS def) b
  WHERE p.relname IN ('journal_entries', 'account_history') AND p.relnamespace = 'public'::regnamespace
  ORDER BY 1, 3
$$;

-- Name: ledger_plan_moves(uuid[], text[], uuid[], bigint[], bigint[], bigint[], bigint[], bigint[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_plan_moves(p_txs uuid[], p_events text[], p_loads uuid[], p_ids bigint[], p_pd bigint[], p_pc bigint[], p_sd bigint[], p_sc bigint[]) RETURNS TABLE(i bigint, tx uuid, ev text, load uuid, id bigint, pd bigint, pc bigint, sd bigint, sc bigint, seq bigint, npd bigint, npc bigint, nsd bigint, nsc bigint, is_last boolean, prev_id bigint, normal_side text, no_overdraft boolean, known boolean)
    LANGUAGE sql STABLE
    AS $$
  SELECT m.i, m.tx, m.ev, m.load, m.id, m.pd, m.pc, m.sd, m.sc,
    (m.a).history_seq + row_number() OVER w,
    (m.a).pending_debits + sum(m.pd) OVER w, (m.a).pending_credits + sum(m.pc) OVER w,
    (m.a).posted_debits + sum(m.sd) OVER w, (m.a).posted_credits + sum(m.sc) OVER w,
    row_number() OVER w = count(*) OVER (PARTITION BY m.id),
    lag(m.id) OVER (ORDER BY m.i), (m.a).normal_side, (m.a).no_overdraft, (m.a).id IS NOT NULL
  -- A primary-key lookup per move, whatever the planner would guess for an array of unknown size.
  FROM (SELECT u.*, (SELECT a FROM accounts a WHERE a.id = u.id) AS a
        FROM unnest(p_txs, p_events, p_loads, p_ids, p_pd, p_pc, p_sd, p_sc) WITH ORDINALITY AS u(tx, ev, load, id, pd, pc, sd, sc, i)
        OFFSET 0) m -- not flattened: one lookup per move, not one per field read
  WINDOW w AS (PARTITION BY m.id ORDER BY m.i)
$$;

-- Name: ledger_refuse_change(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'P0001';
END $$;

-- Name: ledger_refuse_reference_change(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_refuse_reference_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  RAISE EXCEPTION '%.%: the row it names cannot change', TG_TABLE_NAME, TG_ARGV[0] USING ERRCODE = 'P0001';
END $$;

-- Name: ledger_resolve_pending(uuid[], text[], text[], uuid[], uuid[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_resolve_pending(p_pending uuid[], p_kinds text[], p_events text[], p_loads uuid[], p_ids uuid[]) RETURNS TABLE(id uuid, pending_id uuid, kind text, description text, created_at timestamp with time zone, created_at_utc text, codes text[], directions text[], amounts text[], currencies text[])
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
      DECLARE
        bad uuid;
      BEGIN
        SELECT p.id INTO bad FROM unnest(p_pending) AS p(id)
        WHERE NOT (SELECT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = p.id AND t.kind = 'pending')) LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'ledger_resolve_pending: % is not a pending transfer', bad USING ERRCODE = 'P0001';
        END IF;
        PERFORM ledger_begin_moment(ARRAY(
          SELECT DISTINCT e.account_id FROM unnest(p_pending) AS p(id)
          CROSS JOIN LATERAL (SELECT pe.account_id FROM journal_transactions pt JOIN journal_entries pe ON pe.transaction_id = pt.id AND pe.created_at = pt.created_at WHERE pt.id = p.id LIMIT 100) e));

        RETURN QUERY WITH x AS (SELECT * FROM unnest(p_pending, p_kinds, p_ids) WITH ORDINALITY AS x(pending, kind, id, i)),
          t AS (INSERT INTO journal_transactions (id, kind, pending_id, description)
                SELECT x.id, x.kind, x.pending, (SELECT p.description FROM journal_transactions p WHERE p.id = x.pending)
                FROM x ORDER BY x.i
                RETURNING journal_transactions.id, journal_transactions.pending_id, journal_transactions.kind,
                          journal_transactions.description, journal_transactions.created_at),
          e AS (INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
                SELECT x.id, pe.account_id, pe.direction, pe.amount, pe.currency
                FROM x CROSS JOIN LATERAL (SELECT pe.* FROM journal_transactions pt JOIN journal_entries pe ON pe.transaction_id = pt.id AND pe.created_at = pt.created_at WHERE pt.id = x.pending LIMIT 100) pe
                WHERE EXISTS (SELECT 1 FROM t WHERE t.id = x.id)
                ORDER BY x.i, pe.id
                RETURNING journal_entries.id AS entry, journal_entries.transaction_id, journal_entries.account_id,
                          journal_entries.direction, journal_entries.amount, journal_entries.currency),
          g AS (SELECT c.transaction_id, array_agg(c.code ORDER BY c.entry) AS codes,
                            array_agg(c.direction ORDER BY c.entry) AS directions,
                            array_agg(c.amount::text ORDER BY c.entry) AS amounts, array_agg(c.currency::text ORDER BY c.entry) AS currencies,
                            string_agg(journal_entry_json(c.amount::text, c.code, c.currency::text, c.direction), ',' ORDER BY c.entry) AS entries
                     FROM (SELECT e.*, (SELECT a.code FROM accounts a WHERE a.id = e.account_id) AS code FROM e OFFSET 0) c
                     GROUP BY c.transaction_id),
          u AS (INSERT INTO journal_unsealed (transaction_id, created_at, content_hash)
                SELECT t.id, t.created_at, journal_content_hash_of(t.id, t.kind, t.pending_id, NULL, t.description, t.created_at, coalesce(g.entries, ''))
                FROM t LEFT JOIN g ON t.id = g.transaction_id)
        SELECT t.id, t.pending_id, t.kind, t.description, t.created_at,
               to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               g.codes, g.directions, g.amounts, g.currencies
        FROM t JOIN x ON x.id = t.id JOIN g ON g.transaction_id = t.id
        ORDER BY x.i;

        PERFORM ledger_apply_deltas(array_agg(m.tx ORDER BY m.account_id, m.i), array_agg(m.ev ORDER BY m.account_id, m.i),
          array_agg(m.load ORDER BY m.account_id, m.i), array_agg(m.account_id ORDER BY m.account_id, m.i),
          array_agg(m.pd ORDER BY m.account_id, m.i), array_agg(m.pc ORDER BY m.account_id, m.i),
          array_agg(m.sd ORDER BY m.account_id, m.i), array_agg(m.sc ORDER BY m.account_id, m.i))
        FROM (SELECT x.i, x.id AS tx, x.ev, x.load, pe.account_id,
                     coalesce(-sum(pe.amount) FILTER (WHERE pe.direction = 'debit'), 0)::bigint AS pd,
                     coalesce(-sum(pe.amount) FILTER (WHERE pe.direction = 'credit'), 0)::bigint AS pc,
                     (CASE WHEN x.kind = 'post_pending' THEN coalesce(sum(pe.amount) FILTER (WHERE pe.direction = 'debit'), 0) ELSE 0 END)::bigint AS sd,
                     (CASE WHEN x.kind = 'post_pending' THEN coalesce(sum(pe.amount) FILTER (WHERE pe.direction = 'credit'), 0) ELSE 0 END)::bigint AS sc
              FROM unnest(p_pending, p_kinds, p_events, p_loads, p_ids) WITH ORDINALITY AS x(pending, kind, ev, load, id, i)
              CROSS JOIN LATERAL (SELECT pe.* FROM journal_transactions pt JOIN journal_entries pe ON pe.transaction_id = pt.id AND pe.created_at = pt.created_at WHERE pt.id = x.pending LIMIT 100) pe
              GROUP BY x.i, x.id, x.ev, x.load, x.kind, pe.account_id) m;
      END $$;

-- Name: ledger_send_gate(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_send_gate() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
  i database_identity%ROWTYPE;
  live_timeline int;
BEGIN
  SELECT * INTO i FROM database_identity WHERE id = 1;
  live_timeline := CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())
                        ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END;
  IF i.id IS NULL
     OR i.system_identifier <> (SELECT system_identifier::text FROM pg_control_system())
     OR i.database_oid <> (SELECT oid::bigint FROM pg_database WHERE datname = current_database())
     OR i.timeline <> live_timeline THEN
    RETURN 'forked';
  END IF;
  RETURN CASE WHEN i.sends_held_since IS NOT NULL THEN 'held' ELSE 'open' END;
END $$;

-- Name: ledger_watermark(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.ledger_watermark() RETURNS timestamp with time zone
    LANGUAGE plpgsql
    AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  oldest timestamptz;
BEGIN
  PERFORM pg_stat_clear_snapshot();
  SELECT min(coalesce(a.xact_start, '-infinity')) INTO oldest FROM pg_stat_activity a
  WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
    AND coalesce(a.backend_type, 'client backend') = 'client backend';
  RETURN date_trunc('milliseconds', least(t0, oldest));
END $$;

-- Name: load_events_check_load(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.load_events_check_load() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  bad uuid;
BEGIN
  -- docs/design.md, invariant 11: one probe per row named, no lock (a card_loads row is never deleted, its id never changes).
  SELECT k.load_id INTO bad FROM (SELECT DISTINCT load_id FROM new_events) k
  WHERE NOT (SELECT EXISTS (SELECT 1 FROM card_loads x WHERE x.id = k.load_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'load event refers to card load %, which does not exist', bad
      USING ERRCODE = '23503', CONSTRAINT = 'load_events_load_id_fkey';
  END IF;
  RETURN NULL;
END $$;

-- Name: settlement_lock(uuid[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.settlement_lock(p_loads uuid[]) RETURNS TABLE(id uuid, status text, journal_transaction_id uuid, undone_at timestamp with time zone, has_job boolean, claim_token bigint, lease_owner text, lease_expires_at timestamp with time zone, due_at timestamp with time zone, lookup_after timestamp with time zone, late_success_at timestamp with time zone)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
      #variable_conflict use_column
      DECLARE
        ids uuid[] := ARRAY(SELECT DISTINCT k FROM unnest(p_loads) AS k ORDER BY 1);
      BEGIN
        PERFORM ledger_begin_moment(ARRAY(
          SELECT e.account_id FROM unnest(ids) AS q(id)
          CROSS JOIN LATERAL (SELECT l.journal_transaction_id FROM card_loads l WHERE l.id = q.id LIMIT 1) l
          CROSS JOIN LATERAL (SELECT x.account_id FROM journal_transactions lt JOIN journal_entries x ON x.transaction_id = lt.id AND x.created_at = lt.created_at WHERE lt.id = l.journal_transaction_id
                              LIMIT 100) e));
        PERFORM 1 FROM unnest(ids) WITH ORDINALITY AS q(id, i)
          CROSS JOIN LATERAL (SELECT 1 FROM sync_jobs j WHERE j.load_id = q.id FOR UPDATE) j;
        PERFORM 1 FROM unnest(ids) WITH ORDINALITY AS q(id, i)
          CROSS JOIN LATERAL (SELECT 1 FROM card_loads l WHERE l.id = q.id FOR UPDATE) l;
        RETURN QUERY
          SELECT l.id, l.status, l.journal_transaction_id, l.undone_at, j.load_id IS NOT NULL, j.claim_token, j.lease_owner,
                 j.lease_expires_at, j.due_at,
                 greatest(j.lookup_after, (SELECT fi.fork_lookup_after FROM database_identity fi WHERE fi.id = 1)), j.late_success_at
          FROM unnest(ids) WITH ORDINALITY AS q(id, i)
          CROSS JOIN LATERAL (SELECT * FROM card_loads l WHERE l.id = q.id LIMIT 1) l
          LEFT JOIN LATERAL (SELECT * FROM sync_jobs j WHERE j.load_id = q.id LIMIT 1) j ON true
          ORDER BY q.i;
      END $$;

-- Name: sync_jobs_check_load(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.sync_jobs_check_load() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  bad uuid;
BEGIN
  -- docs/design.md, invariant 11: one probe per row named, no lock (a card_loads row is never deleted, its id never changes).
  SELECT k.load_id INTO bad FROM (SELECT DISTINCT load_id FROM new_jobs) k
  WHERE NOT (SELECT EXISTS (SELECT 1 FROM card_loads x WHERE x.id = k.load_id)) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'sync job refers to card load %, which does not exist', bad
      USING ERRCODE = '23503', CONSTRAINT = 'sync_jobs_load_id_fkey';
  END IF;
  RETURN NULL;
END $$;

-- Name: sync_jobs_claim(text, integer, double precision, double precision, double precision); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.sync_jobs_claim(p_owner text, p_limit integer, p_lease_ms double precision, p_grace_ms double precision, p_confirm_ms double precision) RETURNS TABLE(load_id uuid, token text, late_success boolean, attempts integer, unknown_seen boolean, pending_rejection text, was_lookup boolean, lookup_ready boolean, lookup_after_ms double precision, budget_age_ms double precision, rejection_confirmable boolean, reference text, en_kash_card_id text, company_id text, card_account_id text, amount bigint, description text, remarks text, status text, request_id text)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
  #variable_conflict use_column
  BEGIN
    RETURN QUERY WITH fork AS (SELECT coalesce(max(fork_mark), 0) AS mark, max(fork_lookup_after) AS lookup_after
  FROM database_identity WHERE id = 1), due AS (
       SELECT j.load_id, j.needs_lookup OR coalesce(j.fork_mark, 0) < fork.mark AS was_lookup,
         CASE WHEN coalesce(j.fork_mark, 0) < fork.mark THEN greatest(j.lookup_after, fork.lookup_after) ELSE j.lookup_after END AS was_lookup_after,
         fork.mark
       FROM sync_jobs j, fork
       WHERE j.due_at <= clock_timestamp() AND (j.lease_expires_at IS NULL OR j.lease_expires_at < clock_timestamp())
       ORDER BY j.due_at
       LIMIT p_limit
       FOR UPDATE OF j SKIP LOCKED)
     UPDATE sync_jobs j
     SET lease_owner = p_owner, lease_expires_at = clock_timestamp() + make_interval(secs => p_lease_ms / 1000),
         claim_token = nextval('sync_claim_tokens'),
         needs_lookup = true,
         lookup_after = CASE WHEN due.was_lookup THEN due.was_lookup_after
                             ELSE clock_timestamp() + make_interval(secs => (p_lease_ms + p_grace_ms) / 1000) END,
         fork_mark = greatest(j.fork_mark, due.mark),
         updated_at = clock_timestamp()
     FROM due, card_loads l
     WHERE j.load_id = due.load_id AND l.id = j.load_id
     RETURNING j.load_id, j.claim_token::text, j.late_success_at IS NOT NULL, j.attempts, j.unknown_seen,
       j.pending_rejection, due.was_lookup,
       (due.was_lookup_after IS NULL OR due.was_lookup_after <= clock_timestamp()),
       greatest(0, extract(epoch FROM (coalesce(due.was_lookup_after, clock_timestamp()) - clock_timestamp())) * 1000)::float8,
       (extract(epoch FROM clock_timestamp() - j.budget_started_at) * 1000)::float8,
       (j.first_unknown_at IS NULL OR j.first_unknown_at <= clock_timestamp() - make_interval(secs => p_confirm_ms / 1000)),
       l.reference, l.en_kash_card_id, l.company_id, l.card_account_id, l.amount, l.description, l.remarks, l.status, l.request_id;
  END $$;

-- Name: sync_jobs_claim_reads_fork(); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.sync_jobs_claim_reads_fork() RETURNS trigger
    LANGUAGE plpgsql STABLE
    AS $$
        BEGIN
          IF coalesce(NEW.fork_mark, 0) < (SELECT coalesce(max(i.fork_mark), 0) FROM database_identity i WHERE i.id = 1) THEN
            RAISE EXCEPTION 'sync job of load % was open at a fork of the database, which this release of card-ledger does not read',
              NEW.load_id
              USING ERRCODE = '55000',
                HINT = 'stop the workers of releases before migration 1765320000000, or run its down() before starting them';
          END IF;
          RETURN NEW;
        END $$;

-- Name: sync_jobs_fence(uuid[], bigint[], text[], double precision[], double precision[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.sync_jobs_fence(p_loads uuid[], p_tokens bigint[], p_owners text[], p_lease_ms double precision[], p_grace_ms double precision[]) RETURNS TABLE(gate text, held boolean, late_success boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
  #variable_conflict use_column
  BEGIN
    RETURN QUERY WITH x AS (SELECT * FROM unnest(p_loads, p_tokens, p_owners, p_lease_ms, p_grace_ms) WITH ORDINALITY
                AS x(load_id, token, owner, lease_ms, grace_ms, i)),
     fork AS (SELECT coalesce(max(fork_mark), 0) AS mark, max(fork_lookup_after) AS lookup_after
  FROM database_identity WHERE id = 1),
     g AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM x WHERE x.grace_ms IS NOT NULL) THEN ledger_send_gate() ELSE 'open' END AS g),
     fenced AS (
       UPDATE sync_jobs j SET lease_expires_at = clock_timestamp() + make_interval(secs => x.lease_ms / 1000),
         lookup_after = CASE WHEN x.grace_ms IS NULL THEN j.lookup_after
           ELSE greatest(j.lookup_after, clock_timestamp() + make_interval(secs => (x.lease_ms + x.grace_ms) / 1000)) END,
         updated_at = clock_timestamp()
       FROM x, fork WHERE j.load_id = x.load_id AND j.load_id = ANY(p_loads) AND j.claim_token = x.token AND j.lease_owner = x.owner
         AND (x.grace_ms IS NULL OR (SELECT g.g FROM g) = 'open') AND NOT coalesce(j.fork_mark, 0) < fork.mark
       RETURNING x.i, j.late_success_at IS NOT NULL AS late_success)
     SELECT CASE WHEN x.grace_ms IS NOT NULL AND (SELECT g.g FROM g) <> 'open' THEN (SELECT g.g FROM g)
                 WHEN f.i IS NULL AND (SELECT coalesce(j.fork_mark, 0) < fork.mark FROM sync_jobs j, fork WHERE j.load_id = x.load_id) THEN 'forked'
                 ELSE 'open' END,
       f.i IS NOT NULL, coalesce(f.late_success, false)
     FROM x LEFT JOIN fenced f ON f.i = x.i ORDER BY x.i;
  END $$;

-- Name: webhook_subscriptions_hearing(uuid[], text[]); Type: FUNCTION; Schema: public; Owner: -

CREATE FUNCTION public.webhook_subscriptions_hearing(p_loads uuid[], p_events text[]) RETURNS TABLE(load_id uuid, event text, subscription_id uuid)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
  #variable_conflict use_column
  BEGIN
    RETURN QUERY SELECT x.load_id, x.event, s.id
     FROM unnest(p_loads, p_events) WITH ORDINALITY AS x(load_id, event, ord)
     JOIN card_loads l ON l.id = x.load_id
     JOIN webhook_subscriptions s ON s.deleted_at IS NULL AND x.event = ANY (s.events) AND (s.all_loads OR s.api_key_id = l.api_key_id)
     JOIN api_keys k ON k.id = s.api_key_id AND k.revoked_at IS NULL
     ORDER BY x.ord, s.id
     FOR SHARE OF s;
  END $$;

-- Name: account_history; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.account_history (
    account_id bigint NOT NULL,
    seq bigint NOT NULL,
    transaction_id uuid,
    event text NOT NULL,
    load_id uuid,
    at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    d_pending_debits bigint DEFAULT 0 NOT NULL,
    d_pending_credits bigint DEFAULT 0 NOT NULL,
    d_posted_debits bigint DEFAULT 0 NOT NULL,
    d_posted_credits bigint DEFAULT 0 NOT NULL,
    pending_debits bigint NOT NULL,
    pending_credits bigint NOT NULL,
    posted_debits bigint NOT NULL,
    posted_credits bigint NOT NULL,
    CONSTRAINT account_history_check CHECK (((seq = 0) = (event = 'opening'::text))),
    CONSTRAINT account_history_event_check CHECK ((event = ANY (ARRAY['opening'::text, 'load_pending'::text, 'load_posted'::text, 'load_reversed'::text, 'load_undone'::text, 'journal'::text]))),
    CONSTRAINT account_history_seq_check CHECK ((seq >= 0))
)
PARTITION BY RANGE (at);

-- Name: account_history_YYYY_MM; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.account_history_YYYY_MM (
    account_id bigint NOT NULL,
    seq bigint NOT NULL,
    transaction_id uuid,
    event text NOT NULL,
    load_id uuid,
    at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    d_pending_debits bigint DEFAULT 0 NOT NULL,
    d_pending_credits bigint DEFAULT 0 NOT NULL,
    d_posted_debits bigint DEFAULT 0 NOT NULL,
    d_posted_credits bigint DEFAULT 0 NOT NULL,
    pending_debits bigint NOT NULL,
    pending_credits bigint NOT NULL,
    posted_debits bigint NOT NULL,
    posted_credits bigint NOT NULL,
    CONSTRAINT account_history_check CHECK (((seq = 0) = (event = 'opening'::text))),
    CONSTRAINT account_history_event_check CHECK ((event = ANY (ARRAY['opening'::text, 'load_pending'::text, 'load_posted'::text, 'load_reversed'::text, 'load_undone'::text, 'journal'::text]))),
    CONSTRAINT account_history_seq_check CHECK ((seq >= 0))
);

-- Name: account_history_YYYY_MM; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.account_history_YYYY_MM (
    account_id bigint NOT NULL,
    seq bigint NOT NULL,
    transaction_id uuid,
    event text NOT NULL,
    load_id uuid,
    at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    d_pending_debits bigint DEFAULT 0 NOT NULL,
    d_pending_credits bigint DEFAULT 0 NOT NULL,
    d_posted_debits bigint DEFAULT 0 NOT NULL,
    d_posted_credits bigint DEFAULT 0 NOT NULL,
    pending_debits bigint NOT NULL,
    pending_credits bigint NOT NULL,
    posted_debits bigint NOT NULL,
    posted_credits bigint NOT NULL,
    CONSTRAINT account_history_check CHECK (((seq = 0) = (event = 'opening'::text))),
    CONSTRAINT account_history_event_check CHECK ((event = ANY (ARRAY['opening'::text, 'load_pending'::text, 'load_posted'::text, 'load_reversed'::text, 'load_undone'::text, 'journal'::text]))),
    CONSTRAINT account_history_seq_check CHECK ((seq >= 0))
);

-- Name: account_history_carried; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.account_history_carried (
    account_id bigint NOT NULL,
    seq bigint NOT NULL,
    transaction_id uuid,
    event text NOT NULL,
    load_id uuid,
    at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    d_pending_debits bigint DEFAULT 0 NOT NULL,
    d_pending_credits bigint DEFAULT 0 NOT NULL,
    d_posted_debits bigint DEFAULT 0 NOT NULL,
    d_posted_credits bigint DEFAULT 0 NOT NULL,
    pending_debits bigint NOT NULL,
    pending_credits bigint NOT NULL,
    posted_debits bigint NOT NULL,
    posted_credits bigint NOT NULL,
    archived_before timestamp with time zone NOT NULL,
    CONSTRAINT account_history_check CHECK (((seq = 0) = (event = 'opening'::text))),
    CONSTRAINT account_history_event_check CHECK ((event = ANY (ARRAY['opening'::text, 'load_pending'::text, 'load_posted'::text, 'load_reversed'::text, 'load_undone'::text, 'journal'::text]))),
    CONSTRAINT account_history_seq_check CHECK ((seq >= 0))
);

-- Name: account_history_legacy; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.account_history_legacy (
    account_id bigint NOT NULL,
    seq bigint NOT NULL,
    transaction_id uuid,
    event text NOT NULL,
    load_id uuid,
    at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    d_pending_debits bigint DEFAULT 0 NOT NULL,
    d_pending_credits bigint DEFAULT 0 NOT NULL,
    d_posted_debits bigint DEFAULT 0 NOT NULL,
    d_posted_credits bigint DEFAULT 0 NOT NULL,
    pending_debits bigint NOT NULL,
    pending_credits bigint NOT NULL,
    posted_debits bigint NOT NULL,
    posted_credits bigint NOT NULL,
    CONSTRAINT account_history_check CHECK (((seq = 0) = (event = 'opening'::text))),
    CONSTRAINT account_history_event_check CHECK ((event = ANY (ARRAY['opening'::text, 'load_pending'::text, 'load_posted'::text, 'load_reversed'::text, 'load_undone'::text, 'journal'::text]))),
    CONSTRAINT account_history_legacy_bound CHECK ((at < 'YYYY-MM-01 00:00:00+00'::timestamp with time zone)),
    CONSTRAINT account_history_seq_check CHECK ((seq >= 0))
);

-- Name: accounts; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.accounts (
    id bigint NOT NULL,
    code text NOT NULL,
    currency character(3) NOT NULL,
    normal_side text NOT NULL,
    no_overdraft boolean DEFAULT false NOT NULL,
    name text,
    created_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    pending_debits bigint DEFAULT 0 NOT NULL,
    pending_credits bigint DEFAULT 0 NOT NULL,
    posted_debits bigint DEFAULT 0 NOT NULL,
    posted_credits bigint DEFAULT 0 NOT NULL,
    history_seq bigint DEFAULT 0 NOT NULL,
    history_at timestamp with time zone,
    CONSTRAINT accounts_code_check CHECK (((code ~ '^[a-z][a-z0-9_]*:[A-Za-z0-9][A-Za-z0-9_.:-]*$'::text) AND ((char_length(code) - strpos(code, ':'::text)) <= 100))),
    CONSTRAINT accounts_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT accounts_no_overdraft CHECK (((NOT no_overdraft) OR
CASE normal_side
    WHEN 'credit'::text THEN (((posted_credits - posted_debits) - pending_debits) >= 0)
    ELSE (((posted_debits - posted_credits) - pending_credits) >= 0)
END)),
    CONSTRAINT accounts_normal_side_check CHECK ((normal_side = ANY (ARRAY['debit'::text, 'credit'::text]))),
    CONSTRAINT accounts_pending_credits_check CHECK ((pending_credits >= 0)),
    CONSTRAINT accounts_pending_debits_check CHECK ((pending_debits >= 0)),
    CONSTRAINT accounts_posted_credits_check CHECK ((posted_credits >= 0)),
    CONSTRAINT accounts_posted_debits_check CHECK ((posted_debits >= 0))
);

-- Name: COLUMN accounts.history_at; Type: COMMENT; Schema: public; Owner: -

COMMENT ON COLUMN public.accounts.history_at IS 'The moment (at) of the account''s history row history_seq when history_seq > 0 (the opening row is at created_at); NULL: not known, read the row';

-- Name: accounts_id_seq; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.accounts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: accounts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -

ALTER SEQUENCE public.accounts_id_seq OWNED BY public.accounts.id;

-- Name: api_keys; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.api_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    prefix text NOT NULL,
    key_hash bytea NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT api_keys_scopes_check CHECK (((scopes <@ ARRAY['loads:write'::text, 'ledger:read'::text, 'ops:write'::text, 'admin'::text]) AND (cardinality(scopes) > 0)))
);

-- Name: audit_chain_head; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.audit_chain_head (
    id smallint DEFAULT 1 NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT audit_chain_head_hash_check CHECK ((length(hash) = 32)),
    CONSTRAINT audit_chain_head_id_check CHECK ((id = 1)),
    CONSTRAINT audit_chain_head_seq_check CHECK ((seq >= 0))
);

-- Name: audit_checkpoints; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.audit_checkpoints (
    seq bigint NOT NULL,
    transaction_id uuid NOT NULL,
    hash bytea NOT NULL,
    key_id text NOT NULL,
    signed_at timestamp with time zone NOT NULL,
    document text NOT NULL,
    signature text NOT NULL,
    CONSTRAINT audit_checkpoints_hash_check CHECK ((octet_length(hash) = 32)),
    CONSTRAINT audit_checkpoints_seq_check CHECK ((seq >= 1))
);

-- Name: audit_events; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.audit_events (
    seq bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    actor text NOT NULL,
    api_key_id uuid,
    action text NOT NULL,
    subject text,
    request_id text,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    mac bytea,
    CONSTRAINT audit_events_action_check CHECK ((action ~ '^[a-z_]+\.[a-z_]+$'::text)),
    CONSTRAINT audit_events_actor_check CHECK (((length(actor) >= 1) AND (length(actor) <= 200))),
    CONSTRAINT audit_events_details_check CHECK ((jsonb_typeof(details) = 'object'::text)),
    CONSTRAINT audit_events_hash_check CHECK ((length(hash) = 32)),
    CONSTRAINT audit_events_prev_hash_check CHECK ((length(prev_hash) = 32)),
    CONSTRAINT audit_events_request_id_check CHECK ((length(request_id) <= 100)),
    CONSTRAINT audit_events_seq_check CHECK ((seq >= 1)),
    CONSTRAINT audit_events_subject_check CHECK ((length(subject) <= 200))
);

-- Name: audit_verifications; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.audit_verifications (
    id bigint NOT NULL,
    trigger text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    ok boolean NOT NULL,
    checked_transactions bigint NOT NULL,
    findings_count integer NOT NULL,
    result jsonb NOT NULL,
    document text,
    signature text,
    CONSTRAINT audit_verifications_trigger_check CHECK ((trigger = ANY (ARRAY['schedule'::text, 'manual'::text])))
);

-- Name: audit_verifications_id_seq; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.audit_verifications_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: audit_verifications_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -

ALTER SEQUENCE public.audit_verifications_id_seq OWNED BY public.audit_verifications.id;

-- Name: console_sessions; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.console_sessions (
    id_hash bytea NOT NULL,
    api_key_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    max_expires_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    CONSTRAINT console_sessions_check CHECK ((expires_at <= max_expires_at)),
    CONSTRAINT console_sessions_id_hash_check CHECK ((octet_length(id_hash) = 32))
);

-- Name: database_identity; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.database_identity (
    id smallint DEFAULT 1 NOT NULL,
    system_identifier text NOT NULL,
    database_oid bigint NOT NULL,
    timeline integer NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    alive_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    sends_held_since timestamp with time zone,
    fork_kind text,
    fork_detected_at timestamp with time zone,
    previous_identity text,
    fork_mark bigint DEFAULT 0 NOT NULL,
    fork_lookup_after timestamp with time zone,
    CONSTRAINT database_identity_fork_kind_check CHECK ((fork_kind = ANY (ARRAY['cluster'::text, 'database'::text, 'timeline'::text, 'silence'::text, 'missing'::text]))),
    CONSTRAINT database_identity_id_check CHECK ((id = 1))
);

-- Name: journal_entries; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.journal_entries (
    id bigint NOT NULL,
    transaction_id uuid NOT NULL,
    account_id bigint NOT NULL,
    direction text NOT NULL,
    amount bigint NOT NULL,
    currency character(3) NOT NULL,
    created_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    CONSTRAINT journal_entries_amount_check CHECK ((amount > 0)),
    CONSTRAINT journal_entries_direction_check CHECK ((direction = ANY (ARRAY['debit'::text, 'credit'::text])))
)
PARTITION BY RANGE (created_at);

-- Name: journal_entries_id_seq; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.journal_entries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: journal_entries_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -

ALTER SEQUENCE public.journal_entries_id_seq OWNED BY public.journal_entries.id;

-- Name: journal_entries_YYYY_MM; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.journal_entries_YYYY_MM (
    id bigint DEFAULT nextval('public.journal_entries_id_seq'::regclass) NOT NULL,
    transaction_id uuid NOT NULL,
    account_id bigint NOT NULL,
    direction text NOT NULL,
    amount bigint NOT NULL,
    currency character(3) NOT NULL,
    created_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    CONSTRAINT journal_entries_amount_check CHECK ((amount > 0)),
    CONSTRAINT journal_entries_direction_check CHECK ((direction = ANY (ARRAY['debit'::text, 'credit'::text])))
);

-- Name: journal_entries_YYYY_MM; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.journal_entries_YYYY_MM (
    id bigint DEFAULT nextval('public.journal_entries_id_seq'::regclass) NOT NULL,
    transaction_id uuid NOT NULL,
    account_id bigint NOT NULL,
    direction text NOT NULL,
    amount bigint NOT NULL,
    currency character(3) NOT NULL,
    created_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    CONSTRAINT journal_entries_amount_check CHECK ((amount > 0)),
    CONSTRAINT journal_entries_direction_check CHECK ((direction = ANY (ARRAY['debit'::text, 'credit'::text])))
);

-- Name: journal_entries_legacy; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.journal_entries_legacy (
    id bigint DEFAULT nextval('public.journal_entries_id_seq'::regclass) NOT NULL,
    transaction_id uuid NOT NULL,
    account_id bigint NOT NULL,
    direction text NOT NULL,
    amount bigint NOT NULL,
    currency character(3) NOT NULL,
    created_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    CONSTRAINT journal_entries_amount_check CHECK ((amount > 0)),
    CONSTRAINT journal_entries_direction_check CHECK ((direction = ANY (ARRAY['debit'::text, 'credit'::text]))),
    CONSTRAINT journal_entries_legacy_bound CHECK ((created_at < 'YYYY-MM-01 00:00:00+00'::timestamp with time zone))
);

-- Name: journal_seals; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.journal_seals (
    seq bigint NOT NULL,
    transaction_id uuid NOT NULL,
    content_hash bytea NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    sealed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    mac bytea,
    CONSTRAINT journal_seals_mac_check CHECK (((mac IS NULL) OR (octet_length(mac) = 32))),
    CONSTRAINT journal_seals_seq_check CHECK ((seq >= 1))
);

-- Name: journal_transactions; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.journal_transactions (
    id uuid NOT NULL,
    kind text NOT NULL,
    pending_id uuid,
    undoes_id uuid,
    description text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    CONSTRAINT journal_transactions_check CHECK (((kind = ANY (ARRAY['post_pending'::text, 'void_pending'::text])) = (pending_id IS NOT NULL))),
    CONSTRAINT journal_transactions_check1 CHECK (((undoes_id IS NULL) OR (kind = 'posted'::text))),
    CONSTRAINT journal_transactions_kind_check CHECK ((kind = ANY (ARRAY['pending'::text, 'post_pending'::text, 'void_pending'::text, 'posted'::text])))
);

-- Name: journal_unsealed; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.journal_unsealed (
    transaction_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    content_hash bytea,
    CONSTRAINT journal_unsealed_content_hash_check CHECK ((octet_length(content_hash) = 32))
);

-- Name: ledger_archives; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.ledger_archives (
    hi timestamp with time zone NOT NULL,
    lo timestamp with time zone NOT NULL,
    entries_table text NOT NULL,
    history_table text NOT NULL,
    status text NOT NULL,
    last_seal_seq bigint,
    last_seal_hash bytea,
    transactions bigint NOT NULL,
    entries bigint NOT NULL,
    history_rows bigint NOT NULL,
    started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    detached_at timestamp with time zone,
    CONSTRAINT ledger_archives_check CHECK ((lo < hi)),
    CONSTRAINT ledger_archives_status_check CHECK ((status = ANY (ARRAY['detaching'::text, 'detached'::text])))
);

-- Name: load_events; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.load_events (
    id bigint NOT NULL,
    load_id uuid NOT NULL,
    at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    type text NOT NULL,
    outcome text,
    http_status integer,
    code text,
    message text,
    duration_ms integer,
    actor text,
    request_id text
);

-- Name: load_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.load_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: load_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -

ALTER SEQUENCE public.load_events_id_seq OWNED BY public.load_events.id;

-- Name: migrations; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.migrations (
    id integer NOT NULL,
    "timestamp" bigint NOT NULL,
    name character varying NOT NULL
);

-- Name: migrations_id_seq; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.migrations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: migrations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -

ALTER SEQUENCE public.migrations_id_seq OWNED BY public.migrations.id;

-- Name: rate_limit_hits; Type: TABLE; Schema: public; Owner: -

CREATE UNLOGGED TABLE public.rate_limit_hits (
    bucket text NOT NULL,
    window_start timestamp with time zone NOT NULL,
    hits integer NOT NULL,
    CONSTRAINT rate_limit_hits_bucket_check CHECK (((length(bucket) >= 1) AND (length(bucket) <= 200))),
    CONSTRAINT rate_limit_hits_hits_check CHECK ((hits > 0))
);

-- Name: reconciliation_findings; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.reconciliation_findings (
    id bigint NOT NULL,
    run_id uuid NOT NULL,
    kind text NOT NULL,
    load_id uuid,
    reference text,
    account_code text,
    ledger_amount bigint,
    enkash_amount bigint,
    evidence jsonb NOT NULL,
    found_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    CONSTRAINT reconciliation_findings_kind_check CHECK ((kind = ANY (ARRAY['enkash_applied_multiple'::text, 'amount_mismatch'::text, 'posted_missing_at_enkash'::text, 'reversed_but_applied'::text, 'reversed_at_enkash'::text, 'lookup_failed'::text, 'card_balance_drift'::text, 'parent_balance_drift'::text])))
);

-- Name: reconciliation_findings_id_seq; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.reconciliation_findings_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: reconciliation_findings_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -

ALTER SEQUENCE public.reconciliation_findings_id_seq OWNED BY public.reconciliation_findings.id;

-- Name: reconciliation_runs; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.reconciliation_runs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    trigger text NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    finished_at timestamp with time zone,
    window_from timestamp with time zone,
    window_to timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    next_from timestamp with time zone,
    checked_loads integer DEFAULT 0 NOT NULL,
    checked_cards integer DEFAULT 0 NOT NULL,
    findings_count integer DEFAULT 0 NOT NULL,
    error text,
    CONSTRAINT reconciliation_runs_check CHECK (((status = 'running'::text) = (finished_at IS NULL))),
    CONSTRAINT reconciliation_runs_checked_cards_check CHECK ((checked_cards >= 0)),
    CONSTRAINT reconciliation_runs_checked_loads_check CHECK ((checked_loads >= 0)),
    CONSTRAINT reconciliation_runs_findings_count_check CHECK ((findings_count >= 0)),
    CONSTRAINT reconciliation_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'completed'::text, 'failed'::text]))),
    CONSTRAINT reconciliation_runs_trigger_check CHECK ((trigger = ANY (ARRAY['schedule'::text, 'manual'::text])))
);

-- Name: sync_claim_tokens; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.sync_claim_tokens
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: sync_fork_marks; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.sync_fork_marks
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: sync_jobs; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.sync_jobs (
    load_id uuid NOT NULL,
    due_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    budget_started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    needs_lookup boolean DEFAULT false NOT NULL,
    lookup_after timestamp with time zone,
    unknown_seen boolean DEFAULT false NOT NULL,
    first_unknown_at timestamp with time zone,
    pending_rejection text,
    lease_owner text,
    lease_expires_at timestamp with time zone,
    last_outcome text,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    updated_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    claim_token bigint,
    late_success_at timestamp with time zone,
    fork_mark bigint DEFAULT nextval('public.sync_fork_marks'::regclass),
    CONSTRAINT sync_jobs_attempts_check CHECK ((attempts >= 0))
);

-- Name: webhook_attempts; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.webhook_attempts (
    delivery_id uuid NOT NULL,
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    status text NOT NULL,
    http_status integer,
    duration_ms integer NOT NULL,
    error text,
    CONSTRAINT webhook_attempts_duration_ms_check CHECK ((duration_ms >= 0)),
    CONSTRAINT webhook_attempts_status_check CHECK ((status = ANY (ARRAY['succeeded'::text, 'http_error'::text, 'timeout'::text, 'network_error'::text, 'not_sent'::text])))
);

-- Name: webhook_attempts_id_seq; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.webhook_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: webhook_attempts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -

ALTER SEQUENCE public.webhook_attempts_id_seq OWNED BY public.webhook_attempts.id;

-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.webhook_deliveries (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    seq bigint NOT NULL,
    subscription_id uuid NOT NULL,
    load_id uuid,
    event text NOT NULL,
    data json NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    due_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    budget_started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    lease_owner text,
    lease_expires_at timestamp with time zone,
    last_http_status integer,
    last_error text,
    created_at timestamp with time zone DEFAULT public.ledger_moment() NOT NULL,
    updated_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    delivered_at timestamp with time zone,
    failed_at timestamp with time zone,
    CONSTRAINT webhook_deliveries_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT webhook_deliveries_event_check CHECK ((event = ANY (ARRAY['card_load.posted'::text, 'card_load.reversed'::text, 'card_load.needs_review'::text, 'audit.checkpoint'::text]))),
    CONSTRAINT webhook_deliveries_load_event CHECK (((load_id IS NULL) = (event = 'audit.checkpoint'::text))),
    CONSTRAINT webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text])))
);

-- Name: webhook_deliveries_seq_seq; Type: SEQUENCE; Schema: public; Owner: -

CREATE SEQUENCE public.webhook_deliveries_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

-- Name: webhook_deliveries_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -

ALTER SEQUENCE public.webhook_deliveries_seq_seq OWNED BY public.webhook_deliveries.seq;

-- Name: webhook_subscriptions; Type: TABLE; Schema: public; Owner: -

CREATE TABLE public.webhook_subscriptions (
    id uuid NOT NULL,
    api_key_id uuid NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    all_loads boolean NOT NULL,
    secret_ciphertext bytea NOT NULL,
    secret_key_id text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    deleted_at timestamp with time zone,
    previous_secret_ciphertext bytea,
    previous_secret_key_id text,
    previous_secret_expires_at timestamp with time zone,
    CONSTRAINT webhook_subscriptions_events_check CHECK (((cardinality(events) > 0) AND (events <@ ARRAY['card_load.posted'::text, 'card_load.reversed'::text, 'card_load.needs_review'::text, 'audit.checkpoint'::text]))),
    CONSTRAINT webhook_subscriptions_previous_secret_ciphertext_check CHECK ((length(previous_secret_ciphertext) > 28)),
    CONSTRAINT webhook_subscriptions_previous_secret_whole CHECK ((((previous_secret_ciphertext IS NULL) = (previous_secret_key_id IS NULL)) AND ((previous_secret_ciphertext IS NULL) = (previous_secret_expires_at IS NULL)))),
    CONSTRAINT webhook_subscriptions_secret_ciphertext_check CHECK ((length(secret_ciphertext) > 28)),
    CONSTRAINT webhook_subscriptions_url_check CHECK (((url ~ '^https?://'::text) AND (length(url) <= 2048)))
);

-- Name: account_history_YYYY_MM; Type: TABLE ATTACH; Schema: public; Owner: -

ALTER TABLE ONLY public.account_history ATTACH PARTITION public.account_history_YYYY_MM FOR VALUES FROM ('YYYY-MM-01 00:00:00+00') TO ('YYYY-MM-01 00:00:00+00');

-- Name: account_history_YYYY_MM; Type: TABLE ATTACH; Schema: public; Owner: -

ALTER TABLE ONLY public.account_history ATTACH PARTITION public.account_history_YYYY_MM FOR VALUES FROM ('YYYY-MM-01 00:00:00+00') TO ('YYYY-MM-01 00:00:00+00');

-- Name: account_history_legacy; Type: TABLE ATTACH; Schema: public; Owner: -

ALTER TABLE ONLY public.account_history ATTACH PARTITION public.account_history_legacy FOR VALUES FROM (MINVALUE) TO ('YYYY-MM-01 00:00:00+00');

-- Name: journal_entries_YYYY_MM; Type: TABLE ATTACH; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_entries ATTACH PARTITION public.journal_entries_YYYY_MM FOR VALUES FROM ('YYYY-MM-01 00:00:00+00') TO ('YYYY-MM-01 00:00:00+00');

-- Name: journal_entries_YYYY_MM; Type: TABLE ATTACH; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_entries ATTACH PARTITION public.journal_entries_YYYY_MM FOR VALUES FROM ('YYYY-MM-01 00:00:00+00') TO ('YYYY-MM-01 00:00:00+00');

-- Name: journal_entries_legacy; Type: TABLE ATTACH; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_entries ATTACH PARTITION public.journal_entries_legacy FOR VALUES FROM (MINVALUE) TO ('YYYY-MM-01 00:00:00+00');

-- Name: accounts id; Type: DEFAULT; Schema: public; Owner: -

ALTER TABLE ONLY public.accounts ALTER COLUMN id SET DEFAULT nextval('public.accounts_id_seq'::regclass);

-- Name: audit_verifications id; Type: DEFAULT; Schema: public; Owner: -

ALTER TABLE ONLY public.audit_verifications ALTER COLUMN id SET DEFAULT nextval('public.audit_verifications_id_seq'::regclass);

-- Name: journal_entries id; Type: DEFAULT; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_entries ALTER COLUMN id SET DEFAULT nextval('public.journal_entries_id_seq'::regclass);

-- Name: load_events id; Type: DEFAULT; Schema: public; Owner: -

ALTER TABLE ONLY public.load_events ALTER COLUMN id SET DEFAULT nextval('public.load_events_id_seq'::regclass);

-- Name: migrations id; Type: DEFAULT; Schema: public; Owner: -

ALTER TABLE ONLY public.migrations ALTER COLUMN id SET DEFAULT nextval('public.migrations_id_seq'::regclass);

-- Name: reconciliation_findings id; Type: DEFAULT; Schema: public; Owner: -

ALTER TABLE ONLY public.reconciliation_findings ALTER COLUMN id SET DEFAULT nextval('public.reconciliation_findings_id_seq'::regclass);

-- Name: webhook_attempts id; Type: DEFAULT; Schema: public; Owner: -

ALTER TABLE ONLY public.webhook_attempts ALTER COLUMN id SET DEFAULT nextval('public.webhook_attempts_id_seq'::regclass);

-- Name: webhook_deliveries seq; Type: DEFAULT; Schema: public; Owner: -

ALTER TABLE ONLY public.webhook_deliveries ALTER COLUMN seq SET DEFAULT nextval('public.webhook_deliveries_seq_seq'::regclass);

-- Name: migrations PK_8c82d7f526340ab734260ea46be; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.migrations
    ADD CONSTRAINT "PK_8c82d7f526340ab734260ea46be" PRIMARY KEY (id);

-- Name: account_history account_history_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.account_history
    ADD CONSTRAINT account_history_pkey PRIMARY KEY (account_id, seq, at);

-- Name: account_history_YYYY_MM account_history_2027_01_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.account_history_YYYY_MM
    ADD CONSTRAINT account_history_2027_01_pkey PRIMARY KEY (account_id, seq, at);

-- Name: account_history_YYYY_MM account_history_2027_02_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.account_history_YYYY_MM
    ADD CONSTRAINT account_history_2027_02_pkey PRIMARY KEY (account_id, seq, at);

-- Name: account_history_carried account_history_carried_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.account_history_carried
    ADD CONSTRAINT account_history_carried_pkey PRIMARY KEY (account_id, seq);

-- Name: account_history_legacy account_history_legacy_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.account_history_legacy
    ADD CONSTRAINT account_history_legacy_pkey PRIMARY KEY (account_id, seq, at);

-- Name: accounts accounts_code_key; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.accounts
    ADD CONSTRAINT accounts_code_key UNIQUE (code);

-- Name: accounts accounts_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.accounts
    ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);

-- Name: api_keys api_keys_key_hash_key; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash);

-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);

-- Name: audit_chain_head audit_chain_head_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.audit_chain_head
    ADD CONSTRAINT audit_chain_head_pkey PRIMARY KEY (id);

-- Name: audit_checkpoints audit_checkpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.audit_checkpoints
    ADD CONSTRAINT audit_checkpoints_pkey PRIMARY KEY (seq);

-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (seq);

-- Name: audit_verifications audit_verifications_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.audit_verifications
    ADD CONSTRAINT audit_verifications_pkey PRIMARY KEY (id);

-- Name: card_loads card_loads_idempotency; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.card_loads
    ADD CONSTRAINT card_loads_idempotency UNIQUE (api_key_id, idempotency_key);

-- Name: card_loads card_loads_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.card_loads
    ADD CONSTRAINT card_loads_pkey PRIMARY KEY (id);

-- Name: card_loads card_loads_reference_key; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.card_loads
    ADD CONSTRAINT card_loads_reference_key UNIQUE (reference);

-- Name: console_sessions console_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (id_hash);

-- Name: database_identity database_identity_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.database_identity
    ADD CONSTRAINT database_identity_pkey PRIMARY KEY (id);

-- Name: journal_entries journal_entries_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_entries
    ADD CONSTRAINT journal_entries_pkey PRIMARY KEY (id, created_at);

-- Name: journal_entries_YYYY_MM journal_entries_2027_01_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_entries_YYYY_MM
    ADD CONSTRAINT journal_entries_2027_01_pkey PRIMARY KEY (id, created_at);

-- Name: journal_entries_YYYY_MM journal_entries_2027_02_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_entries_YYYY_MM
    ADD CONSTRAINT journal_entries_2027_02_pkey PRIMARY KEY (id, created_at);

-- Name: journal_entries_legacy journal_entries_legacy_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_entries_legacy
    ADD CONSTRAINT journal_entries_legacy_pkey PRIMARY KEY (id, created_at);

-- Name: journal_seals journal_seals_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_seals
    ADD CONSTRAINT journal_seals_pkey PRIMARY KEY (seq);

-- Name: journal_seals journal_seals_transaction_id_key; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_seals
    ADD CONSTRAINT journal_seals_transaction_id_key UNIQUE (transaction_id);

-- Name: journal_transactions journal_transactions_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_transactions
    ADD CONSTRAINT journal_transactions_pkey PRIMARY KEY (id);

-- Name: journal_unsealed journal_unsealed_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.journal_unsealed
    ADD CONSTRAINT journal_unsealed_pkey PRIMARY KEY (transaction_id);

-- Name: ledger_archives ledger_archives_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.ledger_archives
    ADD CONSTRAINT ledger_archives_pkey PRIMARY KEY (hi);

-- Name: load_events load_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.load_events
    ADD CONSTRAINT load_events_pkey PRIMARY KEY (id);

-- Name: rate_limit_hits rate_limit_hits_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.rate_limit_hits
    ADD CONSTRAINT rate_limit_hits_pkey PRIMARY KEY (bucket, window_start);

-- Name: reconciliation_findings reconciliation_findings_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.reconciliation_findings
    ADD CONSTRAINT reconciliation_findings_pkey PRIMARY KEY (id);

-- Name: reconciliation_runs reconciliation_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.reconciliation_runs
    ADD CONSTRAINT reconciliation_runs_pkey PRIMARY KEY (id);

-- Name: sync_jobs sync_jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.sync_jobs
    ADD CONSTRAINT sync_jobs_pkey PRIMARY KEY (load_id);

-- Name: webhook_attempts webhook_attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (delivery_id, id);

-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);

-- Name: webhook_subscriptions webhook_subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (id);

-- Name: account_history_at; Type: INDEX; Schema: public; Owner: -

CREATE INDEX account_history_at ON ONLY public.account_history USING btree (account_id, at, seq);

-- Name: account_history_2027_01_account_id_at_seq_idx; Type: INDEX; Schema: public; Owner: -

CREATE INDEX account_history_2027_01_account_id_at_seq_idx ON public.account_history_YYYY_MM USING btree (account_id, at, seq);

-- Name: account_history_load; Type: INDEX; Schema: public; Owner: -

CREATE INDEX account_history_load ON ONLY public.account_history USING btree (load_id) WHERE (load_id IS NOT NULL);

-- Name: account_history_2027_01_load_id_idx; Type: INDEX; Schema: public; Owner: -

CREATE INDEX account_history_2027_01_load_id_idx ON public.account_history_YYYY_MM USING btree (load_id) WHERE (load_id IS NOT NULL);

-- Name: account_history_2027_02_account_id_at_seq_idx; Type: INDEX; Schema: public; Owner: -

CREATE INDEX account_history_2027_02_account_id_at_seq_idx ON public.account_history_YYYY_MM USING btree (account_id, at, seq);

-- Name: account_history_2027_02_load_id_idx; Type: INDEX; Schema: public; Owner: -

CREATE INDEX account_history_2027_02_load_id_idx ON public.account_history_YYYY_MM USING btree (load_id) WHERE (load_id IS NOT NULL);

-- Name: account_history_legacy_at; Type: INDEX; Schema: public; Owner: -

CREATE INDEX account_history_legacy_at ON public.account_history_legacy USING btree (account_id, at, seq);

-- Name: account_history_legacy_load; Type: INDEX; Schema: public; Owner: -

CREATE INDEX account_history_legacy_load ON public.account_history_legacy USING btree (load_id) WHERE (load_id IS NOT NULL);

-- Name: audit_events_action; Type: INDEX; Schema: public; Owner: -

CREATE INDEX audit_events_action ON public.audit_events USING btree (action, seq);

-- Name: audit_events_at; Type: INDEX; Schema: public; Owner: -

CREATE INDEX audit_events_at ON public.audit_events USING btree (at, seq);

-- Name: audit_events_subject; Type: INDEX; Schema: public; Owner: -

CREATE INDEX audit_events_subject ON public.audit_events USING btree (subject, seq) WHERE (subject IS NOT NULL);

-- Name: card_loads_card; Type: INDEX; Schema: public; Owner: -

CREATE INDEX card_loads_card ON public.card_loads USING btree (en_kash_card_id, created_at DESC, id DESC);

-- Name: card_loads_created; Type: INDEX; Schema: public; Owner: -

CREATE INDEX card_loads_created ON public.card_loads USING btree (created_at DESC, id DESC);

-- Name: card_loads_owner; Type: INDEX; Schema: public; Owner: -

CREATE INDEX card_loads_owner ON public.card_loads USING btree (api_key_id, created_at DESC, id DESC);

-- Name: card_loads_settled; Type: INDEX; Schema: public; Owner: -

CREATE INDEX card_loads_settled ON public.card_loads USING btree (COALESCE(posted_at, reversed_at), id) WHERE (status = ANY (ARRAY['posted'::text, 'reversed'::text]));

-- Name: card_loads_status; Type: INDEX; Schema: public; Owner: -

CREATE INDEX card_loads_status ON public.card_loads USING btree (status, created_at DESC, id DESC);

-- Name: console_sessions_expires; Type: INDEX; Schema: public; Owner: -

CREATE INDEX console_sessions_expires ON public.console_sessions USING btree (expires_at);

-- Name: journal_entries_account; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_entries_account ON ONLY public.journal_entries USING btree (account_id, id);

-- Name: journal_entries_2027_01_account_id_id_idx; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_entries_2027_01_account_id_id_idx ON public.journal_entries_YYYY_MM USING btree (account_id, id);

-- Name: journal_entries_transaction; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_entries_transaction ON ONLY public.journal_entries USING btree (transaction_id);

-- Name: journal_entries_2027_01_transaction_id_idx; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_entries_2027_01_transaction_id_idx ON public.journal_entries_YYYY_MM USING btree (transaction_id);

-- Name: journal_entries_2027_02_account_id_id_idx; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_entries_2027_02_account_id_id_idx ON public.journal_entries_YYYY_MM USING btree (account_id, id);

-- Name: journal_entries_2027_02_transaction_id_idx; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_entries_2027_02_transaction_id_idx ON public.journal_entries_YYYY_MM USING btree (transaction_id);

-- Name: journal_entries_legacy_account; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_entries_legacy_account ON public.journal_entries_legacy USING btree (account_id, id);

-- Name: journal_entries_legacy_transaction; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_entries_legacy_transaction ON public.journal_entries_legacy USING btree (transaction_id);

-- Name: journal_transactions_created_at; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_transactions_created_at ON public.journal_transactions USING btree (created_at, id);

-- Name: journal_transactions_resolves_once; Type: INDEX; Schema: public; Owner: -

CREATE UNIQUE INDEX journal_transactions_resolves_once ON public.journal_transactions USING btree (pending_id) WHERE (pending_id IS NOT NULL);

-- Name: journal_transactions_undone_once; Type: INDEX; Schema: public; Owner: -

CREATE UNIQUE INDEX journal_transactions_undone_once ON public.journal_transactions USING btree (undoes_id) WHERE (undoes_id IS NOT NULL);

-- Name: journal_unsealed_order; Type: INDEX; Schema: public; Owner: -

CREATE INDEX journal_unsealed_order ON public.journal_unsealed USING btree (created_at, transaction_id);

-- Name: load_events_load; Type: INDEX; Schema: public; Owner: -

CREATE INDEX load_events_load ON public.load_events USING btree (load_id, id);

-- Name: rate_limit_hits_window_idx; Type: INDEX; Schema: public; Owner: -

CREATE INDEX rate_limit_hits_window_idx ON public.rate_limit_hits USING btree (window_start);

-- Name: reconciliation_findings_found; Type: INDEX; Schema: public; Owner: -

CREATE INDEX reconciliation_findings_found ON public.reconciliation_findings USING btree (found_at, id);

-- Name: reconciliation_findings_once; Type: INDEX; Schema: public; Owner: -

CREATE UNIQUE INDEX reconciliation_findings_once ON public.reconciliation_findings USING btree (load_id, kind) WHERE ((load_id IS NOT NULL) AND (kind <> 'lookup_failed'::text));

-- Name: reconciliation_findings_run; Type: INDEX; Schema: public; Owner: -

CREATE INDEX reconciliation_findings_run ON public.reconciliation_findings USING btree (run_id, id);

-- Name: reconciliation_runs_started; Type: INDEX; Schema: public; Owner: -

CREATE INDEX reconciliation_runs_started ON public.reconciliation_runs USING btree (started_at DESC);

-- Name: sync_jobs_due; Type: INDEX; Schema: public; Owner: -

CREATE INDEX sync_jobs_due ON public.sync_jobs USING btree (due_at);

-- Name: webhook_deliveries_due; Type: INDEX; Schema: public; Owner: -

CREATE INDEX webhook_deliveries_due ON public.webhook_deliveries USING btree (due_at) WHERE (status = 'pending'::text);

-- Name: webhook_deliveries_load_order; Type: INDEX; Schema: public; Owner: -

CREATE INDEX webhook_deliveries_load_order ON public.webhook_deliveries USING btree (subscription_id, load_id, seq);

-- Name: webhook_deliveries_log; Type: INDEX; Schema: public; Owner: -

CREATE INDEX webhook_deliveries_log ON public.webhook_deliveries USING btree (subscription_id, seq DESC);

-- Name: webhook_subscriptions_owner; Type: INDEX; Schema: public; Owner: -

CREATE INDEX webhook_subscriptions_owner ON public.webhook_subscriptions USING btree (api_key_id, created_at, id) WHERE (deleted_at IS NULL);

-- Name: account_history_2027_01_account_id_at_seq_idx; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.account_history_at ATTACH PARTITION public.account_history_2027_01_account_id_at_seq_idx;

-- Name: account_history_2027_01_load_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.account_history_load ATTACH PARTITION public.account_history_2027_01_load_id_idx;

-- Name: account_history_2027_01_pkey; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.account_history_pkey ATTACH PARTITION public.account_history_2027_01_pkey;

-- Name: account_history_2027_02_account_id_at_seq_idx; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.account_history_at ATTACH PARTITION public.account_history_2027_02_account_id_at_seq_idx;

-- Name: account_history_2027_02_load_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.account_history_load ATTACH PARTITION public.account_history_2027_02_load_id_idx;

-- Name: account_history_2027_02_pkey; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.account_history_pkey ATTACH PARTITION public.account_history_2027_02_pkey;

-- Name: account_history_legacy_at; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.account_history_at ATTACH PARTITION public.account_history_legacy_at;

-- Name: account_history_legacy_load; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.account_history_load ATTACH PARTITION public.account_history_legacy_load;

-- Name: account_history_legacy_pkey; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.account_history_pkey ATTACH PARTITION public.account_history_legacy_pkey;

-- Name: journal_entries_2027_01_account_id_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.journal_entries_account ATTACH PARTITION public.journal_entries_2027_01_account_id_id_idx;

-- Name: journal_entries_2027_01_pkey; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.journal_entries_pkey ATTACH PARTITION public.journal_entries_2027_01_pkey;

-- Name: journal_entries_2027_01_transaction_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.journal_entries_transaction ATTACH PARTITION public.journal_entries_2027_01_transaction_id_idx;

-- Name: journal_entries_2027_02_account_id_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.journal_entries_account ATTACH PARTITION public.journal_entries_2027_02_account_id_id_idx;

-- Name: journal_entries_2027_02_pkey; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.journal_entries_pkey ATTACH PARTITION public.journal_entries_2027_02_pkey;

-- Name: journal_entries_2027_02_transaction_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.journal_entries_transaction ATTACH PARTITION public.journal_entries_2027_02_transaction_id_idx;

-- Name: journal_entries_legacy_account; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.journal_entries_account ATTACH PARTITION public.journal_entries_legacy_account;

-- Name: journal_entries_legacy_pkey; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.journal_entries_pkey ATTACH PARTITION public.journal_entries_legacy_pkey;

-- Name: journal_entries_legacy_transaction; Type: INDEX ATTACH; Schema: public; Owner: -

ALTER INDEX public.journal_entries_transaction ATTACH PARTITION public.journal_entries_legacy_transaction;

-- Name: account_history account_history_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_append_only BEFORE DELETE OR UPDATE ON public.account_history FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: account_history_carried account_history_carried_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_carried_append_only BEFORE DELETE OR UPDATE ON public.account_history_carried FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: account_history_carried account_history_carried_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_carried_no_truncate BEFORE TRUNCATE ON public.account_history_carried FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: account_history account_history_chain; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_chain AFTER INSERT ON public.account_history REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.account_history_check_chain_set();

-- Name: account_history_YYYY_MM account_history_chain; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_chain AFTER INSERT ON public.account_history_YYYY_MM REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.account_history_check_chain_set();

-- Name: account_history_YYYY_MM account_history_chain; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_chain AFTER INSERT ON public.account_history_YYYY_MM REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.account_history_check_chain_set();

-- Name: account_history_legacy account_history_chain; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_chain AFTER INSERT ON public.account_history_legacy REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.account_history_check_chain_set();

-- Name: account_history account_history_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_no_truncate BEFORE TRUNCATE ON public.account_history FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: account_history_YYYY_MM account_history_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_no_truncate BEFORE TRUNCATE ON public.account_history_YYYY_MM FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: account_history_YYYY_MM account_history_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_no_truncate BEFORE TRUNCATE ON public.account_history_YYYY_MM FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: account_history_legacy account_history_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER account_history_no_truncate BEFORE TRUNCATE ON public.account_history_legacy FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: accounts accounts_no_delete; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER accounts_no_delete BEFORE DELETE ON public.accounts FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: accounts accounts_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON public.accounts FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: accounts accounts_opening_row; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER accounts_opening_row AFTER INSERT ON public.accounts REFERENCING NEW TABLE AS new_accounts FOR EACH STATEMENT EXECUTE FUNCTION public.accounts_open_history_set();

-- Name: audit_chain_head audit_chain_head_no_delete; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON public.audit_chain_head FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: audit_chain_head audit_chain_head_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON public.audit_chain_head FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: audit_checkpoints audit_checkpoints_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER audit_checkpoints_append_only BEFORE DELETE OR UPDATE ON public.audit_checkpoints FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: audit_checkpoints audit_checkpoints_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON public.audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: audit_events audit_events_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER audit_events_append_only BEFORE DELETE OR UPDATE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: audit_events audit_events_chain; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER audit_events_chain BEFORE INSERT ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.audit_events_continue_chain();

-- Name: audit_events audit_events_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: card_loads card_loads_guard; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER card_loads_guard BEFORE DELETE OR UPDATE ON public.card_loads FOR EACH ROW EXECUTE FUNCTION public.card_loads_guard();

-- Name: card_loads card_loads_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER card_loads_no_truncate BEFORE TRUNCATE ON public.card_loads FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: card_loads card_loads_touch; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER card_loads_touch BEFORE UPDATE ON public.card_loads FOR EACH ROW EXECUTE FUNCTION public.card_loads_touch();

-- Name: database_identity database_identity_no_delete; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER database_identity_no_delete BEFORE DELETE ON public.database_identity FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: database_identity database_identity_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER database_identity_no_truncate BEFORE TRUNCATE ON public.database_identity FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_entries journal_entries_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_entries_append_only BEFORE DELETE OR UPDATE ON public.journal_entries FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_entries journal_entries_balanced; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_entries_balanced AFTER INSERT ON public.journal_entries REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION public.journal_entries_check_balanced();

-- Name: journal_entries_YYYY_MM journal_entries_balanced; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_entries_balanced AFTER INSERT ON public.journal_entries_YYYY_MM REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION public.journal_entries_check_balanced();

-- Name: journal_entries_YYYY_MM journal_entries_balanced; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_entries_balanced AFTER INSERT ON public.journal_entries_YYYY_MM REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION public.journal_entries_check_balanced();

-- Name: journal_entries_legacy journal_entries_balanced; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_entries_balanced AFTER INSERT ON public.journal_entries_legacy REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION public.journal_entries_check_balanced();

-- Name: journal_entries journal_entries_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON public.journal_entries FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_entries_YYYY_MM journal_entries_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON public.journal_entries_YYYY_MM FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_entries_YYYY_MM journal_entries_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON public.journal_entries_YYYY_MM FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_entries_legacy journal_entries_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON public.journal_entries_legacy FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_seals journal_seals_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_seals_append_only BEFORE DELETE OR UPDATE ON public.journal_seals FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_seals journal_seals_keyed; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_seals_keyed AFTER INSERT ON public.journal_seals REFERENCING NEW TABLE AS new_seals FOR EACH STATEMENT EXECUTE FUNCTION public.journal_seals_keep_keyed();

-- Name: journal_seals journal_seals_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_seals_no_truncate BEFORE TRUNCATE ON public.journal_seals FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_transactions journal_transactions_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_transactions_append_only BEFORE DELETE OR UPDATE ON public.journal_transactions FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_transactions journal_transactions_have_entries; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_transactions_have_entries AFTER INSERT ON public.journal_transactions REFERENCING NEW TABLE AS new_transactions FOR EACH STATEMENT EXECUTE FUNCTION public.journal_transactions_check_entries();

-- Name: journal_transactions journal_transactions_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_transactions_no_truncate BEFORE TRUNCATE ON public.journal_transactions FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: journal_unsealed journal_unsealed_references; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_unsealed_references AFTER INSERT ON public.journal_unsealed REFERENCING NEW TABLE AS new_unsealed FOR EACH STATEMENT EXECUTE FUNCTION public.journal_unsealed_check_transaction();

-- Name: journal_unsealed journal_unsealed_transaction_id_fixed; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER journal_unsealed_transaction_id_fixed BEFORE UPDATE OF transaction_id ON public.journal_unsealed FOR EACH ROW WHEN ((new.transaction_id IS DISTINCT FROM old.transaction_id)) EXECUTE FUNCTION public.ledger_refuse_reference_change('transaction_id');

-- Name: ledger_archives ledger_archives_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER ledger_archives_append_only BEFORE DELETE OR UPDATE ON public.ledger_archives FOR EACH ROW EXECUTE FUNCTION public.ledger_archives_guard();

-- Name: ledger_archives ledger_archives_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER ledger_archives_no_truncate BEFORE TRUNCATE ON public.ledger_archives FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: load_events load_events_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER load_events_append_only BEFORE DELETE OR UPDATE ON public.load_events FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: load_events load_events_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER load_events_no_truncate BEFORE TRUNCATE ON public.load_events FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: load_events load_events_references; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER load_events_references AFTER INSERT ON public.load_events REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION public.load_events_check_load();

-- Name: reconciliation_findings reconciliation_findings_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER reconciliation_findings_append_only BEFORE DELETE OR UPDATE ON public.reconciliation_findings FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: reconciliation_findings reconciliation_findings_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER reconciliation_findings_no_truncate BEFORE TRUNCATE ON public.reconciliation_findings FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: sync_jobs sync_jobs_claim_reads_fork; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER sync_jobs_claim_reads_fork BEFORE UPDATE ON public.sync_jobs FOR EACH ROW WHEN (((new.claim_token IS NOT NULL) AND (new.claim_token IS DISTINCT FROM old.claim_token))) EXECUTE FUNCTION public.sync_jobs_claim_reads_fork();

-- Name: sync_jobs sync_jobs_load_id_fixed; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER sync_jobs_load_id_fixed BEFORE UPDATE OF load_id ON public.sync_jobs FOR EACH ROW WHEN ((new.load_id IS DISTINCT FROM old.load_id)) EXECUTE FUNCTION public.ledger_refuse_reference_change('load_id');

-- Name: sync_jobs sync_jobs_references; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER sync_jobs_references AFTER INSERT ON public.sync_jobs REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION public.sync_jobs_check_load();

-- Name: webhook_attempts webhook_attempts_append_only; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER webhook_attempts_append_only BEFORE DELETE OR UPDATE ON public.webhook_attempts FOR EACH ROW EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: webhook_attempts webhook_attempts_no_truncate; Type: TRIGGER; Schema: public; Owner: -

CREATE TRIGGER webhook_attempts_no_truncate BEFORE TRUNCATE ON public.webhook_attempts FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_refuse_change();

-- Name: card_loads card_loads_api_key_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.card_loads
    ADD CONSTRAINT card_loads_api_key_id_fkey FOREIGN KEY (api_key_id) REFERENCES public.api_keys(id);

-- Name: card_loads card_loads_journal_transaction_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.card_loads
    ADD CONSTRAINT card_loads_journal_transaction_id_fkey FOREIGN KEY (journal_transaction_id) REFERENCES public.journal_transactions(id) DEFERRABLE INITIALLY DEFERRED;

-- Name: console_sessions console_sessions_api_key_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_api_key_id_fkey FOREIGN KEY (api_key_id) REFERENCES public.api_keys(id);

-- Name: reconciliation_findings reconciliation_findings_load_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.reconciliation_findings
    ADD CONSTRAINT reconciliation_findings_load_id_fkey FOREIGN KEY (load_id) REFERENCES public.card_loads(id);

-- Name: reconciliation_findings reconciliation_findings_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.reconciliation_findings
    ADD CONSTRAINT reconciliation_findings_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.reconciliation_runs(id);

-- Name: webhook_attempts webhook_attempts_delivery_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES public.webhook_deliveries(id);

-- Name: webhook_deliveries webhook_deliveries_load_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_load_id_fkey FOREIGN KEY (load_id) REFERENCES public.card_loads(id);

-- Name: webhook_deliveries webhook_deliveries_subscription_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.webhook_subscriptions(id);

-- Name: webhook_subscriptions webhook_subscriptions_api_key_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_api_key_id_fkey FOREIGN KEY (api_key_id) REFERENCES public.api_keys(id);
