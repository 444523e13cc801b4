#!/usr/bin/env bash
# Same data, options and seed must give the same model bytes, whatever the build. This script
# prints an md5 per model trained by the installed extension, or compares two builds:
#
#   bench/model_bytes.sh hash                 md5 of each model, built by the installed extension
#   bench/model_bytes.sh compare [REV]        builds and installs REV (default HEAD), hashes,
#                                             then builds and installs this tree, hashes, and
#                                             fails when any model differs
#
# Models: ltv.rf_train on a generated dataset (20,000 customers, seed 1), once serial and once
# with parallel workers (partial states serialized, combined and put in canonical order, so
# the bytes must be the same as the serial ones), and the model a full ltv.run_analysis serves
# on the UCI Online Retail file (../shared/data/online_retail.csv.gz; skipped without it).
# Needs a running server (PG* variables) and, for `compare`, pg_config of that server on PATH:
# `compare` runs `make install` twice.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-hash}
DB=ltv_model_bytes
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

hash_models() {
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -At <<'SQL'
CREATE EXTENSION retail_ltv;
SELECT ltv.generate_dataset('synthetic', 20000, 1) \gset
SELECT ltv.materialize_features(:'generate_dataset') \gset
CREATE TEMP VIEW rows AS
  SELECT ltv.feature_vector(cf) AS x,
         array_position(enum_range(NULL::ltv.bucket), cf.true_bucket) - 1 AS y
    FROM ltv.customer_features cf
   WHERE dataset_id = :'generate_dataset' AND run_id IS NULL AND true_bucket IS NOT NULL;
CREATE TEMP TABLE training AS SELECT * FROM rows;
SET max_parallel_workers_per_gather = 0;
SELECT 'rf_train serial ' || md5(ltv.rf_train(x, y, '{"n_trees": 50, "seed": 7, "min_samples_leaf": 2}'))
  FROM training;
CREATE TABLE training_p AS SELECT * FROM rows;
ANALYZE training_p;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SELECT 'rf_train parallel ' || md5(ltv.rf_train(x, y, '{"n_trees": 50, "seed": 7, "min_samples_leaf": 2}'))
  FROM training_p;
SQL
  local real
  real=$(readlink -f ../shared/data/online_retail.csv.gz 2>/dev/null || true)
  if [[ -n "$real" && -f "$real" ]]; then
    local work
    work=$(mktemp -d)
    chmod 755 "$work"
    cp "$real" "$work/online_retail.csv.gz"
    chmod 644 "$work/online_retail.csv.gz"
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -At <<SQL
SELECT ltv.import_csv_file('uci', '$work/online_retail.csv.gz') AS dataset_id \gset
SELECT ltv.run_analysis(:'dataset_id') AS run_id \gset
SELECT 'run_analysis uci ' || md5(model) FROM ltv.models WHERE run_id = :'run_id';
SELECT 'run_analysis uci predictions ' || md5(string_agg(p::text, ',' ORDER BY p::text))
  FROM ltv.predict(:'run_id'::bigint, '2011-12-01') p;
SQL
    rm -rf "$work"
  else
    echo "(UCI file not found: run_analysis model not hashed)"
  fi
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"
}

case "$MODE" in
  hash)
    hash_models
    ;;
  compare)
    rev=${2:-HEAD}
    old=$(mktemp -d)
    trap 'rm -rf "$old"' EXIT
    git archive "$rev" | tar -x -C "$old"
    (cd "$old" && nice -n 10 make -s -j2 >/dev/null && make -s install >/dev/null)
    hash_models | tee "$old/before.txt"
    nice -n 10 make -s -j2 >/dev/null && make -s install >/dev/null
    hash_models | tee "$old/after.txt"
    if diff -u "$old/before.txt" "$old/after.txt"; then
      echo "OK: the same model bytes from $rev and from this tree"
    else
      echo "FAIL: models differ between $rev and this tree"
      exit 1
    fi
    ;;
  *)
    echo "usage: bench/model_bytes.sh [hash | compare [REV]]" >&2
    exit 2
    ;;
esac
