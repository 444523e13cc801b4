#!/usr/bin/env bash
# Docs that quote figures must match what the code produces (issue 14, item 11): the UCI
# import example of docs/api.md is compared, number by number, with a real import of
# ../shared/data/online_retail.csv.gz. Skips with a message when the file is absent.
set -euo pipefail
cd "$(dirname "$0")/../.."
REAL=$PWD/../shared/data/online_retail.csv.gz
[[ -f "$REAL" ]] || { echo "skip: $REAL is absent"; exit 0; }
DB=ltv_e2e_doc_figures
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"' EXIT
report=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION retail_ltv" \
  -c "SELECT ltv.import_csv_file('online_retail', '$REAL') IS NOT NULL" \
  -c "SELECT jsonb_build_object('dataset', to_jsonb(d) - 'cleaning_report', 'report', d.cleaning_report)
        FROM ltv.datasets d" | tail -n1)
python3 - "$report" docs/api.md <<'PY'
import json, re, sys
got = json.loads(sys.argv[1])
doc = open(sys.argv[2]).read()
# The dataset example: the JSON block that quotes rows_read 541909.
block = next(b for b in re.findall(r"```json\n(.*?)```", doc, re.S) if '"rows_read": 541909' in b)
fails = 0
def check(key, quoted, actual):
    global fails
    if str(quoted) != str(actual):
        print(f"FAIL docs/api.md says {key} = {quoted}, the import gives {actual}")
        fails += 1
    else:
        print(f"ok   {key} = {actual}")
d, r = got['dataset'], got['report']
for key, value in re.findall(r'"(rows_read|rows_loaded|rows_rejected|rows_excluded|customers)": (\d+)', block.split('"cleaning_report"')[0]):
    check('dataset.' + key, value, d[key])
rep = block.split('"cleaning_report"')[1]
for key, value in re.findall(r'"(rows_read|rows_loaded|rows_excluded|rows_rejected|cancellation_return_kept|customers_before_cleaning|customers_loaded)": (\d+)', rep):
    check('report.' + key, value, r[key])
for key, value in re.findall(r'"(missing_customer|zero_quantity|non_positive_price|non_product_code|exact_duplicate)": (\d+)', rep):
    check('report.excluded_by_rule.' + key, value, r['excluded_by_rule'][key])
for key, value in re.findall(r'"(encoding|date_order|first_purchase|last_purchase)": "([^"]+)"', rep):
    check('report.' + key, value, r[key])
sys.exit(1 if fails else 0)
PY
