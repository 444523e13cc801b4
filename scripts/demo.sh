#!/usr/bin/env bash
# The main job: install what is missing, build and install the extension, start the embedded
# local cluster (kept in .pgdata/ under the project), load a dataset, run the analysis and
# print the results.
#   scripts/demo.sh [CSV_PATH]   import CSV_PATH (plain or .gz); default: the UCI Online Retail
#                                file in ../shared/data when present, else a synthetic dataset
#   scripts/demo.sh --stop       stop the embedded cluster
# Existing server instead of the embedded one: LTV_USE_EXISTING=1 with PGHOST/PGPORT/PGUSER/
# PGDATABASE set (the extension is installed with `make install` on this machine).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PGDATA_DIR=$ROOT/.pgdata
PORT=${LTV_PGPORT:-5499}
source scripts/pg-cluster.sh

if [[ "${1:-}" == "--stop" ]]; then
  ltv_cluster_stop "$PGDATA_DIR"
  echo "embedded cluster stopped"
  exit 0
fi

bash scripts/install-deps.sh
echo "== building and installing the extension"
make -s -j2 >/dev/null
make -s install >/dev/null

if [[ "${LTV_USE_EXISTING:-0}" == 1 ]]; then
  echo "== using the existing server at ${PGHOST:-localhost}:${PGPORT:-5432}"
  DB=${PGDATABASE:-postgres}
else
  ltv_cluster_start "$PGDATA_DIR" "$PORT"
  echo "== embedded cluster running: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER (stop: scripts/demo.sh --stop)"
  DB=retail_ltv
  psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
    psql -X -q -d postgres -c "CREATE DATABASE $DB"
fi
export PGDATABASE=$DB
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS retail_ltv"

SOURCE=${1:-}
if [[ -z "$SOURCE" && -f ../shared/data/online_retail.csv.gz ]]; then
  SOURCE=$(readlink -f ../shared/data/online_retail.csv.gz)
fi
if [[ -n "$SOURCE" ]]; then
  NAME=$(basename "$SOURCE"); NAME=${NAME%%.*}
  # The server reads the file itself: give it a copy it can read.
  STAGE=$(mktemp -d /tmp/retail_ltv_demo.XXXXXX)
  chmod 755 "$STAGE"
  cp "$SOURCE" "$STAGE/"
  chmod 644 "$STAGE/$(basename "$SOURCE")"
  echo "== importing $SOURCE as dataset \"$NAME\""
  psql -X -q -v ON_ERROR_STOP=1 -c "SELECT ltv.import_csv_file('$NAME', '$STAGE/$(basename "$SOURCE")', '{\"replace\": true}')" >/dev/null
  rm -rf "$STAGE"
else
  NAME=synthetic
  echo "== generating a synthetic dataset of 20000 customers"
  psql -X -q -v ON_ERROR_STOP=1 -c "SELECT ltv.generate_dataset('$NAME', 20000, 1, '{\"replace\": true}')" >/dev/null
fi

psql -X -v ON_ERROR_STOP=1 -v name="$NAME" <<'SQL'
\pset footer off
SELECT dataset_id AS id FROM ltv.datasets WHERE name = :'name' \gset
\echo
\echo Dataset
SELECT name, rows_read, rows_loaded, rows_excluded, rows_rejected, customers,
       first_purchase::date AS first_purchase, last_purchase::date AS last_purchase
  FROM ltv.datasets WHERE dataset_id = :id;
\echo Cleaning report: rows removed per rule
SELECT key AS rule, value::bigint AS rows
  FROM ltv.datasets, jsonb_each_text(cleaning_report->'excluded_by_rule')
 WHERE dataset_id = :id ORDER BY 2 DESC;
SELECT (cleaning_report->>'cancellation_return_kept')::bigint AS returns_kept_as_negative_spend
  FROM ltv.datasets WHERE dataset_id = :id;
\echo First rejected rows
SELECT line_no, reason FROM ltv.rejected_rows WHERE dataset_id = :id ORDER BY line_no LIMIT 5;
\echo Customers by value bucket of their next-6-months spend (labels at the default cutoff)
SELECT ltv.materialize_features(:id)->'cut_points' AS cut_points \gset
SELECT true_bucket AS bucket, count(*) AS customers, round(avg(future_spend)::numeric, 2) AS avg_future_spend,
       round(avg(monetary)::numeric, 2) AS avg_past_spend
  FROM ltv.customer_features WHERE dataset_id = :id AND run_id IS NULL GROUP BY 1 ORDER BY 1;
SQL
