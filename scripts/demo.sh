#!/usr/bin/env bash
# The main job: install what is missing, build and install the extension, start the embedded
# local cluster (kept in .pgdata/ under the project), load a dataset, run the analysis, print
# a short report and serve the dashboard on 127.0.0.1.
#   scripts/demo.sh [CSV_PATH]   import CSV_PATH (plain or .gz); default: the UCI Online Retail
#                                file in ../shared/data when present, else a synthetic dataset.
#                                A second run reuses the dataset and its analysis; give a path
#                                (or LTV_DEMO_REFRESH=1) to import and analyse again.
#   scripts/demo.sh --stop       stop the dashboard server and the embedded cluster
# Dashboard port: LTV_WEB_PORT (default 8080).
# Existing server instead of the embedded one: LTV_USE_EXISTING=1 with PGHOST/PGPORT/PGUSER/
# PGDATABASE set (the extension is installed with `make install` on this machine).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PGDATA_DIR=$ROOT/.pgdata
PORT=${LTV_PGPORT:-5499}
source scripts/pg-cluster.sh

WEB_PID_FILE=$ROOT/.web-server.pid
WEB_PORT=${LTV_WEB_PORT:-8080}
stop_web() {
  if [[ -f "$WEB_PID_FILE" ]] && kill -0 "$(cat "$WEB_PID_FILE")" 2>/dev/null; then
    kill "$(cat "$WEB_PID_FILE")" && echo "dashboard server stopped"
  fi
  rm -f "$WEB_PID_FILE"
}

if [[ "${1:-}" == "--stop" ]]; then
  stop_web
  ltv_cluster_stop "$PGDATA_DIR"
  echo "embedded cluster stopped"
  exit 0
fi

bash scripts/install-deps.sh --web
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
# An extension created by an older build of this checkout: bring it to the current script.
if [[ "$(psql -X -Atq -c "SELECT to_regprocedure('ltv_api.datasets()') IS NULL")" == t ]]; then
  echo "== the installed extension predates the analysis API: recreating it (datasets are re-imported)"
  psql -X -q -v ON_ERROR_STOP=1 -c "DROP EXTENSION retail_ltv CASCADE" -c "CREATE EXTENSION retail_ltv"
fi

SOURCE=${1:-}
DEFAULT_SOURCE=""
if [[ -z "$SOURCE" && -f ../shared/data/online_retail.csv.gz ]]; then
  DEFAULT_SOURCE=$(readlink -f ../shared/data/online_retail.csv.gz)
fi
if [[ -n "$SOURCE" ]]; then
  NAME=$(basename "$SOURCE"); NAME=${NAME%%.*}
elif [[ -n "$DEFAULT_SOURCE" ]]; then
  NAME=online_retail
else
  NAME=synthetic
fi
HAVE_RUN=$(psql -X -Atq -v name="$NAME" <<'SQL'
SELECT ltv.latest_run(dataset_id) IS NOT NULL FROM ltv.datasets WHERE name = :'name'
SQL
)
if [[ "$HAVE_RUN" == t && -z "$SOURCE" && "${LTV_DEMO_REFRESH:-0}" != 1 ]]; then
  echo "== dataset \"$NAME\" and its analysis already exist: reusing them (LTV_DEMO_REFRESH=1 redoes both)"
else
  SOURCE=${SOURCE:-$DEFAULT_SOURCE}
  if [[ -n "$SOURCE" ]]; then
    # The server reads the file itself: give it a copy it can read.
    STAGE=$(mktemp -d /tmp/retail_ltv_demo.XXXXXX)
    chmod 755 "$STAGE"
    cp "$SOURCE" "$STAGE/"
    chmod 644 "$STAGE/$(basename "$SOURCE")"
    echo "== importing $SOURCE as dataset \"$NAME\""
    psql -X -q -v ON_ERROR_STOP=1 -c "SELECT ltv.import_csv_file('$NAME', '$STAGE/$(basename "$SOURCE")', '{\"replace\": true}')" >/dev/null
    rm -rf "$STAGE"
  else
    echo "== generating a synthetic dataset of 20000 customers"
    psql -X -q -v ON_ERROR_STOP=1 -c "SELECT ltv.generate_dataset('$NAME', 20000, 1, '{\"replace\": true}')" >/dev/null
  fi
  echo "== running the analysis (features, labels, training, evaluation, predictions)"
  psql -X -q -v ON_ERROR_STOP=1 -v name="$NAME" <<'SQL' >/dev/null
SELECT ltv.run_analysis(dataset_id) FROM ltv.datasets WHERE name = :'name';
SQL
fi

psql -X -v ON_ERROR_STOP=1 -v name="$NAME" <<'SQL'
\pset footer off
SELECT dataset_id AS id, ltv.latest_run(dataset_id) AS run FROM ltv.datasets WHERE name = :'name' \gset
\echo
\echo Dataset
SELECT name, rows_read, rows_loaded, rows_excluded, rows_rejected, customers,
       first_purchase::date AS first_purchase, last_purchase::date AS last_purchase
  FROM ltv.datasets WHERE dataset_id = :id;
\echo Cleaning report: rows removed per rule
SELECT key AS rule, value::bigint AS rows
  FROM ltv.datasets, jsonb_each_text(cleaning_report->'excluded_by_rule')
 WHERE dataset_id = :id ORDER BY 2 DESC;
\echo First rejected rows
SELECT line_no, reason FROM ltv.rejected_rows WHERE dataset_id = :id ORDER BY line_no LIMIT 5;
\echo Analysis run
SELECT run_id, status, error, finished_at::timestamp(0) AS finished_at,
       (SELECT round(sum(value::numeric) / 1000, 1) FROM jsonb_each_text(timings)) AS seconds
  FROM ltv.runs WHERE dataset_id = :id ORDER BY run_id DESC LIMIT 1;
\echo What is served, against the simple rule (bucket of the spend in the last 6 months), as the run evaluated it
SELECT served, serves_naive, evaluation, folds, test_customers, round(macro_f1::numeric, 3) AS served_macro_f1,
       round(baseline_macro_f1::numeric, 3) AS simple_rule_macro_f1,
       round(lift_macro_f1::numeric, 3) AS lift,
       '[' || round((lift_ci90->>0)::numeric, 3) || ', ' || round((lift_ci90->>1)::numeric, 3) || ']' AS lift_90pct
  FROM ltv.model_summary WHERE run_id = :run;
\echo Customers per predicted bucket of their next-6-months spend
SELECT bucket, customers, share, past_spend, avg_orders, avg_probability
  FROM ltv.segments WHERE run_id = :run ORDER BY bucket;
\echo Largest cohorts (month of first purchase)
SELECT cohort_month, sum(customers) AS customers,
       sum(customers) FILTER (WHERE bucket IN ('high', 'vip')) AS high_or_vip
  FROM ltv.cohorts WHERE run_id = :run GROUP BY cohort_month ORDER BY 2 DESC LIMIT 5;
SQL

echo "== building the dashboard"
bash web/scripts/build.sh >/dev/null
stop_web
# Tokens (docs/security.md): a secret kept with the cluster, and an analyst's token so that
# the dashboard's upload works; without a token the dashboard only reads.
secret_file="$ROOT/.pgdata/jwt_secret"
[[ -s "$secret_file" ]] || (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret_file")
export LTV_JWT_SECRET=${LTV_JWT_SECRET:-$(cat "$secret_file")}
psql -X -q -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ltv_demo_analyst') THEN CREATE ROLE ltv_demo_analyst NOLOGIN IN ROLE ltv_analyst; END IF; END \$\$"
token=$(node web/scripts/token.mjs ltv_demo_analyst 168)
LTV_WEB_HOST=127.0.0.1 LTV_WEB_PORT=$WEB_PORT nohup node web/server/index.js >"$ROOT/.web-server.log" 2>&1 &
echo $! >"$WEB_PID_FILE"
for _ in $(seq 50); do
  grep -q "http://" "$ROOT/.web-server.log" 2>/dev/null && break
  kill -0 "$(cat "$WEB_PID_FILE")" 2>/dev/null || { cat "$ROOT/.web-server.log"; exit 1; }
  sleep 0.2
done
echo
echo "Dashboard: http://127.0.0.1:$WEB_PORT/   (stop everything: scripts/demo.sh --stop)"
echo "As an analyst (upload, run): http://127.0.0.1:$WEB_PORT/?token=$token"
echo "  (token for role ltv_demo_analyst, valid 7 days; the dashboard keeps it in this browser)"
