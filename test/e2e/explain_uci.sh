#!/usr/bin/env bash
# Explanations on the real UCI data (issue 16): for every customer of a UCI run, base + the
# contributions equal the stored probability of every bucket to 1e-9, both for the default
# run (whatever it serves) and for a run serving the forest (exact TreeSHAP over 200 trees);
# prints the time to explain every customer and one customer. Skips when the file is absent.
set -euo pipefail
cd "$(dirname "$0")/../.."
REAL=$PWD/../shared/data/online_retail.csv.gz
[[ -f "$REAL" ]] || { echo "skip: $REAL is absent"; exit 0; }
DB=ltv_e2e_explain_uci
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
q "CREATE EXTENSION retail_ltv"
q "SELECT ltv.import_csv_file('online_retail', '$REAL')" >/dev/null
default_run=$(q "SELECT ltv.run_analysis((SELECT dataset_id FROM ltv.datasets))")
forest_run=$(q "SELECT ltv.run_analysis((SELECT dataset_id FROM ltv.datasets), '{\"candidates\": [\"classifier\"]}')")
fails=0
for run in "$default_run" "$forest_run"; do
  start=$(date +%s.%N)
  result=$(q "WITH e AS (SELECT * FROM ltv.explain($run::bigint)),
                   s AS (SELECT customer_id, bucket, max(base) + sum(contribution) AS p FROM e GROUP BY 1, 2)
              SELECT (SELECT metrics->>'served' FROM ltv.models WHERE run_id = $run) || ' ' ||
                     count(DISTINCT s.customer_id) || ' ' ||
                     (SELECT count(*) FROM ltv.predictions WHERE run_id = $run) || ' ' ||
                     count(*) || ' ' ||
                     max(abs(s.p - (ARRAY[p.p_low, p.p_medium, p.p_high, p.p_vip])[ltv._bucket_class(s.bucket) + 1]))
                FROM s JOIN ltv.predictions p ON p.run_id = $run AND p.customer_id = s.customer_id")
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  read -r served explained customers pairs max_error <<<"$result"
  echo "run $run serves $served: $explained of $customers customers explained ($pairs customer x bucket sums) in ${seconds} s; largest |base + sum - probability| = $max_error"
  if [[ "$explained" != "$customers" || "$pairs" != $((4 * customers)) ]]; then
    echo "FAIL run $run: not every customer and bucket was explained"; fails=$((fails + 1))
  fi
  if ! python3 -c "import sys; sys.exit(0 if float('$max_error') < 1e-9 else 1)"; then
    echo "FAIL run $run: additivity error $max_error >= 1e-9"; fails=$((fails + 1))
  fi
done
served=$(q "SELECT metrics->>'served' FROM ltv.models WHERE run_id = $forest_run")
[[ "$served" == classifier ]] || { echo "FAIL run $forest_run serves $served, not the forest"; fails=$((fails + 1)); }
start=$(date +%s.%N)
q "SELECT count(*) FROM ltv.reasons($forest_run, ARRAY['12347'])" >/dev/null
echo "one customer's reasons on demand (forest): $(echo "$(date +%s.%N) - $start" | bc) s (psql included)"
((fails == 0)) && echo "explain_uci: ok" || { echo "explain_uci: $fails failure(s)"; exit 1; }
