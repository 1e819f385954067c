import { MigrationInterface, QueryRunner } from 'typeorm';
import { briefly } from './support/briefly';
import { rewriteFunction, undone } from './support/rewrite-function';

/**
 * journal_entries and account_history become range-partitioned by month of their moment (docs/operations.md,
 * "Partitions and archive"; issue 19, "Growth"), online on a populated ledger:
 *
 * 1. a CHECK (moment < B) is added NOT VALID (a moment's lock, no scan), where B is the first day of next month
 *    (UTC), then VALIDATEd: that scan holds only SHARE UPDATE EXCLUSIVE, writes go on;
 * 2. the key the parent needs is built CONCURRENTLY on the old table: Postgres 15 wants the partition key in every
 *    unique key, so journal_entries' key is (id, created_at) and account_history's (account_id, seq, at);
 * 3. in one short transaction the old table is renamed `<table>_legacy`, its key swapped for that index, the
 *    partitioned parent created under the old name with the same columns, checks, indexes, foreign keys and
 *    triggers, and the old table attached as the partition [MINVALUE, B): the validated CHECK lets Postgres skip
 *    the scan, and every index and foreign key of the parent finds its twin on the old table, so nothing is built;
 * 4. the two months after B are made by ledger_ensure_partitions, which the service's maintenance job
 *    (src/ledger/partitions) calls from then on.
 *
 * What the keys lose is held elsewhere, so no invariant is weaker: (account_id, seq) is still unique because the
 * history chain trigger now also refuses a row whose (account, seq) exists already, or that is older than the row
 * it continues (docs/design.md invariant 3), and journal_entries.id still comes only from its sequence and is
 * referenced by nothing. journal_transactions and journal_seals stay whole: they are the chain the verifier walks
 * from seal 1 and the key four tables' foreign keys point at (docs/audit.md, "Archived months").
 *
 * Not in a transaction: CONCURRENTLY and a validation that lets writers through cannot run in one.
 */
const TABLES = [
  {
    name: 'journal_entries',
    col: 'created_at',
    key: ['id', 'created_at'],
    oldKey: ['id'],
    indexes: [
      ['journal_entries_account', '(account_id, id)'],
      ['journal_entries_transaction', '(transaction_id)'],
    ],
    rowTriggers: [['journal_entries_append_only', 'BEFORE DELETE OR UPDATE', 'FOR EACH ROW', 'ledger_refuse_change()']],
  },
  {
    name: 'account_history',
    col: 'at',
    key: ['account_id', 'seq', 'at'],
    oldKey: ['account_id', 'seq'],
    indexes: [
      ['account_history_at', '(account_id, at, seq)'],
      ['account_history_load', '(load_id) WHERE (load_id IS NOT NULL)'],
    ],
    rowTriggers: [['account_history_append_only', 'BEFORE DELETE OR UPDATE', 'FOR EACH ROW', 'ledger_refuse_change()']],
  },
] as const;

/** Statement triggers each partition carries itself, for a write aimed at the partition rather than the parent. */
const PARTITION_TRIGGERS = `
CREATE FUNCTION ledger_partition_triggers(p_parent text, p_part text) RETURNS void LANGUAGE plpgsql AS $$
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
END $$;`;

/**
 * The maintenance: monthly partitions (UTC months) from the newest one's end until one ends after p_until (at most a
 * year ahead). SECURITY DEFINER: the service's role owns no table (docs/operations.md, "Database roles") and only the
 * owner may attach a partition; this function is all it can do with that right. Each is
 * built beside the table and ATTACHed (SHARE UPDATE EXCLUSIVE on the parent, where CREATE … PARTITION OF would take
 * ACCESS EXCLUSIVE); attaching clones the foreign keys, whose brief lock on accounts and journal_transactions waits
 * at most lock_timeout (1 s): a missed round is retried by the next, months before the partition is needed.
 */
const ENSURE_PARTITIONS = `
CREATE FUNCTION ledger_ensure_partitions(p_until timestamptz) RETURNS int LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
END $$;`;

/** Every attached partition of the two tables with its range; lo is -infinity for the legacy one (MINVALUE). */
const LIST_PARTITIONS = `
CREATE FUNCTION ledger_partitions() RETURNS TABLE(parent text, part text, lo timestamptz, hi timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT p.relname::text, c.relname::text,
    CASE WHEN b.def LIKE '%MINVALUE%' THEN '-infinity'::timestamptz ELSE substring(b.def FROM 'FROM \\(''([^'']+)''\\)')::timestamptz END,
    substring(b.def FROM 'TO \\(''([^'']+)''\\)')::timestamptz
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
  CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS def) b
  WHERE p.relname IN ('journal_entries', 'account_history') AND p.relnamespace = 'public'::regnamespace
  ORDER BY 1, 3
$$;`;

/**
 * The history chain, partition-aware: the row a new one continues is looked up newest partition first (ordered
 * append stops at the first match, usually in this month's partition), then among the rows carried over an archive
 * point (account_history_carried); and since (account_id, seq) is no longer a key of its own, a second row with a
 * new row's (account, seq) is refused here, as is a row older than the one it continues. The duplicate's lookup
 * only reads partitions from the continued row's moment on: every row of an account is at or after its previous.
 */
const CHAIN_TRIGGER = `
CREATE OR REPLACE FUNCTION account_history_check_chain_set() RETURNS trigger LANGUAGE plpgsql AS $$
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
  RETURN NULL;
END $$;`;

const OLD_CHAIN_TRIGGER = `
CREATE OR REPLACE FUNCTION account_history_check_chain_set() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT n.account_id, n.seq INTO bad FROM new_rows n
  LEFT JOIN LATERAL (SELECT * FROM account_history h WHERE h.account_id = n.account_id AND h.seq = n.seq - 1 AND n.seq > 0 LIMIT 1) p
    ON true
  WHERE CASE WHEN n.seq = 0
    THEN n.pending_debits <> 0 OR n.pending_credits <> 0 OR n.posted_debits <> 0 OR n.posted_credits <> 0
    ELSE p.account_id IS NULL
      OR n.pending_debits  <> p.pending_debits  + n.d_pending_debits
      OR n.pending_credits <> p.pending_credits + n.d_pending_credits
      OR n.posted_debits   <> p.posted_debits   + n.d_posted_debits
      OR n.posted_credits  <> p.posted_credits  + n.d_posted_credits END
  LIMIT 1;
  IF FOUND AND bad.seq = 0 THEN
    RAISE EXCEPTION 'opening history row must be zero' USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
  ELSIF FOUND THEN
    RAISE EXCEPTION 'history row %/% does not continue the previous row', bad.account_id, bad.seq
      USING ERRCODE = '23514', CONSTRAINT = 'account_history_chain';
  END IF;
  RETURN NULL;
END $$;`;

/** ledger_apply_deltas reads each account's last history row: newest partition first, stopping at the match. */
const LATEST_OLD = `CROSS JOIN LATERAL (SELECT h.at FROM accounts a JOIN account_history h ON h.account_id = a.id AND h.seq = a.history_seq
                        WHERE a.id = k.id) h;`;
const LATEST_NEW = `CROSS JOIN LATERAL (SELECT h.at FROM accounts a CROSS JOIN LATERAL (SELECT h.at FROM account_history h
                        WHERE h.account_id = a.id AND h.seq = a.history_seq ORDER BY h.at DESC LIMIT 1) h
                        WHERE a.id = k.id) h;`;

async function rewriteApplyDeltas(q: QueryRunner, from: string, to: string): Promise<void> {
  await rewriteFunction(q, 'ledger_apply_deltas', [[from, to, 1]]);
}

/**
 * The lookups of one transaction's entries, given the partition key (the transaction's moment, which its entries
 * share: the archive refuses a month where they differ) so that Postgres reads one partition, not every attached
 * month (docs/scale.md, "Growth"): the balance check on every write, and the settlement's three reads.
 */
const ENTRY_LOOKUPS: Array<readonly [string, ReadonlyArray<readonly [string, string, number]>]> = [
  [
    'journal_entries_check_balanced',
    [
      [
        'BEGIN\n  -- Every query here looks rows up by key',
        `BEGIN
  -- An entry carries its transaction's moment, the partition key by which the lookups below and every read by
  -- transaction find it (migration 1765300000000): one with another moment would be invisible to them.
  SELECT n.transaction_id INTO bad FROM (SELECT DISTINCT transaction_id, created_at FROM new_entries) n
  WHERE EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = n.transaction_id AND t.created_at <> n.created_at) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal transaction % has entries with another moment than its own', bad.transaction_id
      USING ERRCODE = '23514', CONSTRAINT = 'journal_balanced';
  END IF;
  -- Every query here looks rows up by key`,
        1,
      ],
      ['FROM (SELECT DISTINCT transaction_id FROM new_entries) k', 'FROM (SELECT DISTINCT transaction_id, created_at FROM new_entries) k', 1],
      [
        'FROM journal_entries e WHERE e.transaction_id = k.transaction_id GROUP BY',
        'FROM journal_entries e WHERE e.transaction_id = k.transaction_id AND e.created_at = k.created_at GROUP BY',
        1,
      ],
    ],
  ],
  [
    'ledger_resolve_pending',
    [
      [
        '(SELECT account_id FROM journal_entries WHERE transaction_id = p.id LIMIT 100) e',
        '(SELECT pe.account_id FROM journal_transactions pt JOIN journal_entries pe ON pe.transaction_id = pt.id AND pe.created_at = pt.created_at WHERE pt.id = p.id LIMIT 100) e',
        1,
      ],
      [
        '(SELECT * FROM journal_entries WHERE transaction_id = x.pending LIMIT 100) pe',
        '(SELECT pe.* FROM journal_transactions pt JOIN journal_entries pe ON pe.transaction_id = pt.id AND pe.created_at = pt.created_at WHERE pt.id = x.pending LIMIT 100) pe',
        2,
      ],
    ],
  ],
  [
    'settlement_lock',
    [
      [
        'FROM journal_entries x WHERE x.transaction_id = l.journal_transaction_id',
        'FROM journal_transactions lt JOIN journal_entries x ON x.transaction_id = lt.id AND x.created_at = lt.created_at WHERE lt.id = l.journal_transaction_id',
        1,
      ],
    ],
  ],
];

/** The foreign keys and statement triggers the old tables had (docs/schema.sql before this), on the new parents or back. */
const PARENT_KEYS_AND_TRIGGERS = `
        ALTER SEQUENCE journal_entries_id_seq OWNED BY journal_entries.id;
        ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
          ADD CONSTRAINT journal_entries_transaction_id_fkey FOREIGN KEY (transaction_id) REFERENCES journal_transactions(id);
        ALTER TABLE account_history ADD CONSTRAINT account_history_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
          ADD CONSTRAINT account_history_transaction_id_fkey FOREIGN KEY (transaction_id) REFERENCES journal_transactions(id);
        CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries REFERENCING NEW TABLE AS new_entries
          FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_check_balanced();
        CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
        CREATE TRIGGER account_history_chain AFTER INSERT ON account_history REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION account_history_check_chain_set();
        CREATE TRIGGER account_history_no_truncate BEFORE TRUNCATE ON account_history FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();`;

/** The archive's bookkeeping (src/ledger/partitions/ledger-archive.service.ts). */
const ARCHIVE_TABLES = `
CREATE SCHEMA IF NOT EXISTS ledger_archive;
CREATE TABLE ledger_archives (
  hi timestamptz PRIMARY KEY,
  lo timestamptz NOT NULL,
  entries_table text NOT NULL,
  history_table text NOT NULL,
  status text NOT NULL CHECK (status IN ('detaching', 'detached')),
  last_seal_seq bigint,
  last_seal_hash bytea,
  transactions bigint NOT NULL,
  entries bigint NOT NULL,
  history_rows bigint NOT NULL,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  detached_at timestamptz,
  CHECK (lo < hi)
);
CREATE TABLE account_history_carried (LIKE account_history INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  archived_before timestamptz NOT NULL, PRIMARY KEY (account_id, seq));
CREATE TRIGGER account_history_carried_append_only BEFORE DELETE OR UPDATE ON account_history_carried
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER account_history_carried_no_truncate BEFORE TRUNCATE ON account_history_carried
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
-- Append-only but for the one step an archive takes (detaching -> detached): a row removed or its point moved would
-- turn "archived" answers into partial balances and move the verifier's anchor (docs/audit.md, "Archived months").
CREATE FUNCTION ledger_archives_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER ledger_archives_append_only BEFORE DELETE OR UPDATE ON ledger_archives
  FOR EACH ROW EXECUTE FUNCTION ledger_archives_guard();
CREATE TRIGGER ledger_archives_no_truncate BEFORE TRUNCATE ON ledger_archives
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();`;

/** The first day of next month in UTC, or of the month after when next month starts within a day. */
const BOUND = `SELECT to_char(date_trunc('month', now() + interval '1 day', 'UTC') AT TIME ZONE 'UTC' + interval '1 month',
  'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS b`;

export class PartitionJournalByMonth1765300000000 implements MigrationInterface {
  name = 'PartitionJournalByMonth1765300000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    const [{ b }] = (await q.query(BOUND)) as Array<{ b: string }>;
    for (const t of TABLES) {
      await briefly(q, () => q.query(`ALTER TABLE ${t.name} ADD CONSTRAINT ${t.name}_legacy_bound CHECK (${t.col} < '${b}') NOT VALID`));
      await q.query(`ALTER TABLE ${t.name} VALIDATE CONSTRAINT ${t.name}_legacy_bound`);
      await q.query(`DROP INDEX IF EXISTS ${t.name}_legacy_key`); // a run interrupted after CONCURRENTLY leaves it invalid
      await q.query(`CREATE UNIQUE INDEX CONCURRENTLY ${t.name}_legacy_key ON ${t.name} (${t.key.join(', ')})`);
    }
    try {
      await briefly(q, () => this.swap(q, b));
    } catch (e) {
      for (const t of TABLES) {
        await q.query(`DROP INDEX IF EXISTS ${t.name}_legacy_key`);
        await q.query(`ALTER TABLE ${t.name} DROP CONSTRAINT IF EXISTS ${t.name}_legacy_bound`);
      }
      throw e;
    }
  }

  /**
   * The swap, in briefly()'s transaction, which first takes every lock it needs: the two tables, and accounts and
   * journal_transactions for the foreign keys. Taken one by one as the DDL went, a writer holding one of them and
   * waiting for another made a deadlock, found only after deadlock_timeout (1 s of stalled intake, measured). Each
   * try waits at most LOCK_WAIT_MS for them, so writers queue behind it no longer than that.
   */
  private async swap(q: QueryRunner, b: string): Promise<void> {
    // ACCESS EXCLUSIVE on accounts and journal_transactions too: attaching the old table's foreign keys to the
    // parent's drops their action triggers on the referenced tables, which takes that lock (measured: a deadlock).
    await q.query(`LOCK TABLE journal_entries, account_history, accounts, journal_transactions IN ACCESS EXCLUSIVE MODE`);
    await q.query(`SET LOCAL lock_timeout = 0`);
    await q.query(LIST_PARTITIONS);
    await q.query(PARTITION_TRIGGERS);
    await q.query(ENSURE_PARTITIONS);
    for (const t of TABLES) {
      const legacy = `${t.name}_legacy`;
      await q.query(`ALTER TABLE ${t.name} RENAME TO ${legacy}`);
      await q.query(
        `ALTER TABLE ${legacy} DROP CONSTRAINT ${t.name}_pkey, ADD CONSTRAINT ${legacy}_pkey PRIMARY KEY USING INDEX ${legacy}_key`,
      );
      for (const [index] of t.indexes) await q.query(`ALTER INDEX ${index} RENAME TO ${index.replace(t.name, legacy)}`);
      for (const [trigger] of t.rowTriggers) await q.query(`DROP TRIGGER ${trigger} ON ${legacy}`);
      await q.query(
        `CREATE TABLE ${t.name} (LIKE ${legacy} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (${t.col})`,
      );
      await q.query(`ALTER TABLE ${t.name} DROP CONSTRAINT ${t.name}_legacy_bound`);
      await q.query(`ALTER TABLE ${t.name} ADD CONSTRAINT ${t.name}_pkey PRIMARY KEY (${t.key.join(', ')})`);
      for (const [index, def] of t.indexes) await q.query(`CREATE INDEX ${index} ON ${t.name} ${def.replace('(', 'USING btree (')}`);
      for (const [trigger, when, each, fn] of t.rowTriggers) {
        await q.query(`CREATE TRIGGER ${trigger} ${when} ON ${t.name} ${each} EXECUTE FUNCTION ${fn}`);
      }
    }
    // The parents' foreign keys and statement triggers, as the old tables had them (docs/schema.sql before this).
    await q.query(PARENT_KEYS_AND_TRIGGERS);
    for (const t of TABLES) {
      await q.query(`ALTER TABLE ${t.name} ATTACH PARTITION ${t.name}_legacy FOR VALUES FROM (MINVALUE) TO ('${b}')`);
    }
    await q.query(ARCHIVE_TABLES); // after the swap: LIKE the parent, without the old table's bound
    await q.query(CHAIN_TRIGGER);
    await rewriteApplyDeltas(q, LATEST_OLD, LATEST_NEW);
    for (const [fn, edits] of ENTRY_LOOKUPS) await rewriteFunction(q, fn, edits);
    // Exactly the two months after B, whatever the day: the schema dump (docs/schema.sql) is the same every month.
    await q.query(`SELECT ledger_ensure_partitions($1::timestamptz + interval '1 month')`, [b]);
  }

  /**
   * Back to one table each, by copying: not online (the tables are locked while they are copied). Refused while a
   * month is archived: its rows are not here to copy.
   */
  async down(q: QueryRunner): Promise<void> {
    await q.startTransaction();
    try {
      const [{ n }] = (await q.query(`SELECT count(*)::int AS n FROM ledger_archives`)) as Array<{ n: number }>;
      if (n > 0) throw new Error(`${n} month(s) archived (ledger_archives): restoring one table each would lose them`);
      for (const t of TABLES) {
        const flat = `${t.name}_flat`;
        await q.query(`LOCK TABLE ${t.name} IN ACCESS EXCLUSIVE MODE`);
        await q.query(`CREATE TABLE ${flat} (LIKE ${t.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
        await q.query(`INSERT INTO ${flat} SELECT * FROM ${t.name}`);
        if (t.name === 'journal_entries') await q.query(`ALTER SEQUENCE journal_entries_id_seq OWNED BY NONE`);
        await q.query(`DROP TABLE ${t.name} CASCADE`);
        await q.query(`ALTER TABLE ${flat} RENAME TO ${t.name}`);
        await q.query(`ALTER TABLE ${t.name} ADD CONSTRAINT ${t.name}_pkey PRIMARY KEY (${t.oldKey.join(', ')})`);
        for (const [index, def] of t.indexes) await q.query(`CREATE INDEX ${index} ON ${t.name} ${def.replace('(', 'USING btree (')}`);
        for (const [trigger, when, each, fn] of t.rowTriggers) {
          await q.query(`CREATE TRIGGER ${trigger} ${when} ON ${t.name} ${each} EXECUTE FUNCTION ${fn}`);
        }
      }
      await q.query(PARENT_KEYS_AND_TRIGGERS);
      await rewriteApplyDeltas(q, LATEST_NEW, LATEST_OLD);
      for (const [fn, edits] of ENTRY_LOOKUPS) await rewriteFunction(q, fn, undone(edits));
      await q.query(OLD_CHAIN_TRIGGER);
      await q.query(`DROP FUNCTION ledger_ensure_partitions(timestamptz); DROP FUNCTION ledger_partitions();
        DROP FUNCTION ledger_partition_triggers(text, text);
        DROP TABLE account_history_carried; DROP TABLE ledger_archives; DROP FUNCTION ledger_archives_guard(); DROP SCHEMA ledger_archive`);
      await q.commitTransaction();
    } catch (e) {
      await q.rollbackTransaction();
      throw e;
    }
  }
}
