#!/usr/bin/env bash
# Copied verbatim from ../shared/bench/raw-sql-baseline.sh so that `npm run bench` is self-contained.
# The floor under every ingestion figure: what Postgres itself does for one card load written by hand in SQL
# (one transfer row, two entries, two balance updates including the shared parent account), with no service in
# between. Run it against the same Postgres, in the same run, as the service's own benchmark, and report the
# service's throughput as a ratio of this.
#
#   DATABASE_URL=postgres://user:pw@127.0.0.1:5432/db shared/bench/raw-sql-baseline.sh [clients] [seconds]
#
# Needs psql and pgbench (on Debian pgbench ships in the server package: apt-get install postgresql). Works in its own schema, which it drops when done.
# Prints one line:  raw_sql_tps=<number> clients=<n> seconds=<s>
set -euo pipefail
url=${DATABASE_URL:?set DATABASE_URL}
clients=${1:-16}
seconds=${2:-15}
command -v pgbench >/dev/null || { echo "pgbench not found (Debian: apt-get install postgresql)" >&2; exit 2; }
schema=raw_sql_baseline
export PGOPTIONS="-c client_min_messages=warning"
psql "$url" -q -v ON_ERROR_STOP=1 <<SQL
DROP SCHEMA IF EXISTS $schema CASCADE;
CREATE SCHEMA $schema;
CREATE TABLE $schema.transfers(id bigserial PRIMARY KEY, reference text UNIQUE NOT NULL, amount bigint NOT NULL CHECK (amount > 0),
  status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE $schema.entries(id bigserial PRIMARY KEY, transfer_id bigint NOT NULL REFERENCES $schema.transfers(id),
  account_id int NOT NULL, amount bigint NOT NULL, side char(1) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE $schema.balances(account_id int PRIMARY KEY, pending_debits bigint NOT NULL DEFAULT 0,
  pending_credits bigint NOT NULL DEFAULT 0, version bigint NOT NULL DEFAULT 0);
INSERT INTO $schema.balances(account_id) SELECT g FROM generate_series(1, 100001) g;
SQL
script=$(mktemp)
cat >"$script" <<SQL
\set card random(2, 100001)
BEGIN;
WITH t AS (INSERT INTO $schema.transfers(reference, amount, status)
           VALUES (md5(random()::text || clock_timestamp()::text), 150000, 'pending') RETURNING id)
INSERT INTO $schema.entries(transfer_id, account_id, amount, side)
  SELECT id, 1, 150000, 'D' FROM t UNION ALL SELECT id, :card, 150000, 'C' FROM t;
UPDATE $schema.balances SET pending_debits = pending_debits + 150000, version = version + 1 WHERE account_id = 1;
UPDATE $schema.balances SET pending_credits = pending_credits + 150000, version = version + 1 WHERE account_id = :card;
COMMIT;
SQL
tps=$(pgbench "$url" -n -c "$clients" -j 2 -T "$seconds" -f "$script" 2>/dev/null | awk '/^tps/ {print $3}')
rm -f "$script"
psql "$url" -q -c "DROP SCHEMA $schema CASCADE"
echo "raw_sql_tps=${tps} clients=${clients} seconds=${seconds}"
