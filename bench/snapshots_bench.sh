#!/bin/bash
# The feature stage (ltv._materialize_snapshots) on the UCI data and a synthetic dataset: the
# median over SNAP_REPEATS default runs of the features stage and of the whole analysis, and
# hashes of what a run stores (customer_features rows without run_id, ordered by key; the
# model bytes; the predictions), so that two versions of the generator can be compared.
# Environment: SNAP_REPEATS (default 3), SNAP_CUSTOMERS (default 1000000; 0 skips),
# SNAP_DB (default ltv_bench_snapshots). Needs PGHOST/PGPORT/PGUSER of a server with the
# extension installed.
set -euo pipefail
REPEATS=${SNAP_REPEATS:-3}
CUSTOMERS=${SNAP_CUSTOMERS:-1000000}
DB=${SNAP_DB:-ltv_bench_snapshots}
DATA=${SNAP_DATA:-$(dirname "$0")/../../shared/data/online_retail.csv.gz}
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$DB" -c "$1"; }

dropdb --if-exists "$DB" >/dev/null && createdb "$DB"
q "CREATE EXTENSION retail_ltv"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
cp "$DATA" "$tmp/uci.csv.gz" && chmod -R a+rX "$tmp"
uci=$(q "SELECT ltv.import_csv_file('uci', '$tmp/uci.csv.gz')")
sets="uci:$uci"
if [ "$CUSTOMERS" -gt 0 ]; then
  syn=$(q "SELECT ltv.generate_dataset('syn', $CUSTOMERS, 42)")
  sets="$sets syn:$syn"
fi
q "ANALYZE"
for s in $sets; do
  name=${s%%:*}; ds=${s##*:}
  runs=()
  for _ in $(seq "$REPEATS"); do
    runs+=("$(q "SELECT ltv.run_analysis($ds)")")
  done
  list=$(IFS=,; echo "${runs[*]}")
  last=${runs[-1]}
  q "SELECT format('%s: features stage median %s ms, whole run median %s ms (%s runs: %s)', '$name',
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY (timings->>'features')::numeric),
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000),
                  count(*), string_agg((timings->>'features') || '/' || round(extract(epoch FROM finished_at - started_at) * 1000), ' ' ORDER BY run_id))
       FROM ltv.runs WHERE run_id IN ($list) AND status = 'succeeded'"
  q "SELECT format('%s: customer_features %s rows md5 %s', '$name', count(*),
                  md5(string_agg(md5((to_jsonb(cf) - 'run_id')::text), '' ORDER BY cf.cutoff, cf.customer_id)))
       FROM ltv.customer_features cf WHERE cf.run_id = $last"
  q "SELECT format('%s: model md5 %s', '$name', md5(model)) FROM ltv.models WHERE run_id = $last"
  q "SELECT format('%s: predictions %s rows md5 %s', '$name', count(*),
                  md5(string_agg(md5((to_jsonb(p) - 'run_id')::text), '' ORDER BY p.customer_id)))
       FROM ltv.predictions p WHERE p.run_id = $last"
done
