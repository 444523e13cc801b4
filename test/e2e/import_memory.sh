#!/usr/bin/env bash
# Import memory and the streamed upload (issue 14, item 4):
#  1. the backend's private peak (RssAnon, sampled from /proc/<pid>/status) stays within 3x the
#     file for ltv.import_csv, ltv.import_csv_file and a web upload, and the web server grows by
#     less than the file (bench/import_memory.py --check; the real UCI file, skipped when absent);
#  2. a streamed upload stores exactly what ltv.import_csv stores from the same bytes (rows,
#     rejected rows, report), for a file with non-ASCII text, quotes, CRLF and bad lines cut
#     into many pieces, and leaves no large object behind, whether it succeeds or fails;
#  3. the upload's answers stay PostgREST's: unknown argument 404, body over the limit 413,
#     invalid JSON 400, and the reader of the body agrees with JSON.parse (node unit tests).
# Needs a running server on this machine (PG* variables, superuser, /proc of its backends
# readable), the extension installed; the web parts need node and web/node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DB=ltv_e2e_import_memory
WORK=$(mktemp -d "${LTV_TEST_DIR:-/tmp}/import_memory.XXXXXX")
chmod 755 "$WORK"
WEB=""
cleanup() {
  [[ -n "$WEB" ]] && { kill "$WEB" 2>/dev/null; wait "$WEB" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok   $*"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# 1. Peaks against the file's size.
REAL=$ROOT/../shared/data/online_retail.csv.gz
if [[ -f "$REAL" ]]; then
  if python3 bench/import_memory.py "$REAL" --repeats 1 --check 3 --node-check 1 --db ltv_e2e_import_peak; then
    ok "import peaks within 3x the file (backend) and 1x (web server)"
  else
    fail "import peaks over the limits (above)"
  fi
else
  echo "skip peak check: $REAL is absent"
fi
# Long lines that are all rejected: each rejected row keeps up to 64 kB of its text, and the
# batches between the threads and to the INSERT are bounded by bytes, not only by rows.
python3 - "$WORK/long_rejected.csv" <<'PY'
import sys
with open(sys.argv[1], 'w') as f:
    f.write('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n')
    for i in range(1000):
        f.write('%d,A,ok,1,2011-01-01 10:00:00,2.5,100,UK\n' % i)
    for i in range(700):
        f.write('%d,A,%s,1,not a date,2.5,100,UK\n' % (i, ('%07d' % i) * 8500))
PY
if python3 bench/import_memory.py "$WORK/long_rejected.csv" --repeats 1 --no-web --check 3 \
     --options '{"max_rejected_share": 1}' --db ltv_e2e_import_peak; then
  ok "long rejected lines: backend peaks within 3x the file"
else
  fail "long rejected lines: backend peaks over 3x the file (above)"
fi

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q -c "CREATE EXTENSION retail_ltv"

if [[ ! -d web/node_modules/pg ]] || ! command -v node >/dev/null; then
  echo "skip web upload cases: web/node_modules is missing (scripts/install-deps.sh --web)"
else
  (cd web && node --test server/test/unit/ >"$WORK/unit.log" 2>&1) && ok "upload body reader agrees with JSON.parse" \
    || { tail -30 "$WORK/unit.log"; fail "upload body reader unit tests"; }

  # 2. Same bytes, two paths. Pieces of 1 MB: the file is ~3 MB, so it is written in several.
  python3 - "$WORK/shop.csv" <<'PY'
import random, sys
random.seed(7)
rows = ['InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country']
for i in range(30000):
    desc = random.choice(['Tasse "Ümlaut"', 'crème brûlée, 6', 'MUG 😀', 'plain', 'line\nbreak'])
    date = '2011-%02d-%02d 10:%02d' % (random.randint(1, 12), random.randint(1, 28), i % 60)
    if i % 997 == 0:
        date = 'yesterday'  # rejected
    rows.append('%d,%s,"%s",%d,%s,%.2f,%d,France' % (
        536000 + i // 3, 'SKU%d' % (i % 500), desc.replace('"', '""'), random.randint(-2, 12), date,
        random.random() * 20, 12000 + i % 700))
open(sys.argv[1], 'w', encoding='utf-8', newline='').write('\r\n'.join(rows) + '\r\n')
PY
  python3 - "$WORK/shop.csv" "$WORK/body.json" <<'PY'
import json, sys
json.dump({'options': {'replace': True}, 'name': 'streamed', 'csv': open(sys.argv[1], encoding='utf-8', newline='').read()},
          open(sys.argv[2], 'w'), ensure_ascii=True)
PY
  chmod 644 "$WORK"/*
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # Uploads need an analyst's token (the anonymous role only reads: docs/security.md).
  q -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ltv_e2e_uploader') THEN CREATE ROLE ltv_e2e_uploader NOLOGIN IN ROLE ltv_analyst; END IF; END \$\$"
  export LTV_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  TOKEN=$(node web/scripts/token.mjs ltv_e2e_uploader 1)
  PGDATABASE=$DB LTV_WEB_PORT=$port LTV_WEB_LOG=0 LTV_WEB_BODY_LIMIT_MB=5 node web/server/index.js >"$WORK/web.log" 2>&1 &
  WEB=$!
  for _ in $(seq 50); do grep -q dashboard "$WORK/web.log" && break; sleep 0.1; done
  post() {  # post FUNCTION BODY_FILE -> "status body"
    curl -s -o "$WORK/answer" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $TOKEN" --data-binary "@$2" "http://127.0.0.1:$port/rpc/$1"
    echo " $(head -c 300 "$WORK/answer")"
  }
  got=$(post upload_dataset "$WORK/body.json")
  [[ "$got" == "200 "* ]] && ok "streamed upload: ${got:0:60}..." || fail "streamed upload: $got"
  q -c "SELECT ltv.import_csv('direct', pg_read_binary_file('$WORK/shop.csv'))" >/dev/null
  # Everything but the dataset's id and name, in both.
  same=$(q <<'SQL'
WITH d AS (SELECT name, dataset_id FROM ltv.datasets WHERE name IN ('streamed', 'direct')),
t AS (SELECT d.name, md5(string_agg(concat_ws('|', line_no, invoice, stock_code, description, quantity, unit_price,
                                              amount, invoice_time, customer_id, country, is_return), E'\n' ORDER BY line_no)) AS h
        FROM ltv.transactions x JOIN d USING (dataset_id) GROUP BY d.name),
r AS (SELECT d.name, md5(string_agg(concat_ws('|', line_no, reason, raw), E'\n' ORDER BY line_no)) AS h, count(*) AS n
        FROM ltv.rejected_rows x JOIN d USING (dataset_id) GROUP BY d.name),
s AS (SELECT d.name, x.cleaning_report::text AS h, x.rows_loaded FROM ltv.datasets x JOIN d USING (dataset_id))
SELECT (SELECT count(DISTINCT h) FROM t) || ' ' || (SELECT count(DISTINCT h) FROM r) || ' ' ||
       (SELECT count(DISTINCT h) FROM s) || ' ' || (SELECT min(n) FROM r) || ' ' || (SELECT min(rows_loaded) FROM s)
SQL
)
  read -r t_diff r_diff s_diff rejected loaded <<<"$same"
  [[ "$t_diff $r_diff $s_diff" == "1 1 1" && "$rejected" -gt 0 && "$loaded" -gt 20000 ]] \
    && ok "streamed upload stores what ltv.import_csv stores: $loaded rows, $rejected rejected, same report" \
    || fail "streamed and direct imports differ: $same (distinct transactions/rejected/report hashes, rejected, loaded)"
  [[ $(q -c "SELECT cleaning_report->>'encoding' FROM ltv.datasets WHERE name = 'streamed'") == utf-8 ]] \
    && ok "the streamed text is read as UTF-8" || fail "encoding of the streamed upload"

  # A failing streamed import (a header without the customer column): the error of
  # upload_dataset, nothing stored.
  python3 - "$WORK/shop.csv" "$WORK/bad.json" <<'PY'
import json, sys
text = open(sys.argv[1], encoding='utf-8', newline='').read().replace('CustomerID', 'Zzz', 1)
json.dump({'name': 'bad header', 'csv': text}, open(sys.argv[2], 'w'))
PY
  got=$(post upload_dataset "$WORK/bad.json")
  [[ "$got" == "400 "*'"code":"42703"'* ]] && ok "streamed import error: ${got:0:90}..." || fail "bad header: $got"
  # An unknown argument after the file (known only at the end of the body): 404, as before.
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['extra']=1; json.dump(d, open(sys.argv[2],'w'))" \
    "$WORK/body.json" "$WORK/extra.json"
  got=$(post upload_dataset "$WORK/extra.json")
  [[ "$got" == "404 "*PGRST202* ]] && ok "unknown argument: ${got:0:60}..." || fail "unknown argument: $got"
  printf '{"name": "x", "csv": "a,b\\n' >"$WORK/cut.json"
  got=$(post upload_dataset "$WORK/cut.json")
  [[ "$got" == "400 "*PGRST102* ]] && ok "cut JSON: ${got:0:70}..." || fail "cut JSON: $got"
  # Over the body limit (5 MB here), with and without Content-Length.
  python3 -c "import json,sys; json.dump({'name': 'big', 'csv': 'x' * (6 << 20)}, open(sys.argv[1], 'w'))" "$WORK/big.json"
  got=$(post upload_dataset "$WORK/big.json")
  [[ "$got" == "413 "*PGRST413* ]] && ok "over the limit: ${got:0:40}..." || fail "over the limit: $got"
  got=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    -H "Authorization: Bearer $TOKEN" \
    --data-binary "@$WORK/big.json" "http://127.0.0.1:$port/rpc/upload_dataset" || true)
  [[ "$got" == 413 || "$got" == 000 ]] && ok "over the limit, chunked: $got" || fail "chunked over the limit: $got"
  sleep 0.3
  got=$(q -c "SELECT (SELECT count(*) FROM pg_largeobject_metadata) || ' objects, ' ||
                     (SELECT count(*) FROM ltv.datasets WHERE name IN ('bad header', 'big', 'x')) || ' datasets'")
  [[ "$got" == "0 objects, 0 datasets" ]] && ok "failed uploads left $got" || fail "failed uploads left $got"
  kill "$WEB" 2>/dev/null; wait "$WEB" 2>/dev/null || true
  WEB=""
fi

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"
if ((FAILS > 0)); then echo "import_memory: $FAILS failed"; exit 1; fi
echo "import_memory: all passed"
