#!/usr/bin/env bash
# Who may do what, through the local server (web/server) with tokens, and across databases
# (docs/security.md): the two attacks of issue 15 replayed over HTTP, each refusal checked to
# leave the database unchanged; the roles surviving a second CREATE EXTENSION and a DROP
# EXTENSION; the server without a secret.
# Needs a running server (PG* variables, superuser) with the extension installed, node and
# web/node_modules (web/scripts/build.sh or npm ci in web/; scripts/install-deps.sh --web).
set -euo pipefail
cd "$(dirname "$0")/../.."
DB=ltv_e2e_roles
DB2=ltv_e2e_roles_2
WORK=$(mktemp -d)
WEB_PID=""
FAILS=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
q() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
cleanup() {
  [[ -n "$WEB_PID" ]] && kill "$WEB_PID" 2>/dev/null && wait "$WEB_PID" 2>/dev/null
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "DROP DATABASE IF EXISTS $DB2" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v node >/dev/null || [[ ! -d web/node_modules/jose ]]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error) || { echo "FAIL: web/node_modules cannot be installed"; exit 1; }
fi

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "DROP DATABASE IF EXISTS $DB2" \
  -c "CREATE DATABASE $DB" -c "CREATE DATABASE $DB2"

# 1. Roles are cluster-wide: a second database's CREATE EXTENSION finds them; DROP EXTENSION
#    in one database leaves them for the other.
q "CREATE EXTENSION retail_ltv"
if psql -X -q -v ON_ERROR_STOP=1 -d "$DB2" -c "CREATE EXTENSION retail_ltv" 2>"$WORK/second.err"; then
  ok "CREATE EXTENSION in a second database"
else
  fail "CREATE EXTENSION in a second database: $(cat "$WORK/second.err")"
fi
psql -X -q -v ON_ERROR_STOP=1 -d "$DB2" -c "DROP EXTENSION retail_ltv CASCADE"
got=$(q "SELECT count(*) FROM pg_roles WHERE rolname IN ('ltv_viewer', 'ltv_analyst', 'ltv_reader', 'ltv_web')")
[[ "$got" == 4 ]] && ok "DROP EXTENSION in one database leaves the four roles" || fail "roles after DROP EXTENSION: $got"
got=$(q "SELECT has_function_privilege('ltv_web', 'ltv_api.datasets()', 'EXECUTE')")
[[ "$got" == t ]] && ok "the other database's grants are intact" || fail "grants after the other DROP: $got"

# People: two analysts and a viewer (NOLOGIN: tokens name them; the server's login switches).
q "DO \$\$ BEGIN
     IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'e2e_alice') THEN CREATE ROLE e2e_alice NOLOGIN IN ROLE ltv_analyst; END IF;
     IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'e2e_bob') THEN CREATE ROLE e2e_bob NOLOGIN IN ROLE ltv_analyst; END IF;
     IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'e2e_vic') THEN CREATE ROLE e2e_vic NOLOGIN IN ROLE ltv_viewer; END IF;
   END \$\$"

start_web() {  # start_web LOG [ENV=VALUE...]: the server on a free port; sets URL and WEB_PID
  local log=$1; shift
  env "$@" PGDATABASE=$DB LTV_WEB_PORT=0 LTV_WEB_LOG=0 node web/server/index.js >"$log" 2>"$log.err" &
  WEB_PID=$!
  URL=""
  for _ in $(seq 100); do
    URL=$(sed -n 's|^retail_ltv dashboard: \(http://[^ ]*\)/$|\1|p' "$log")
    [[ -n "$URL" ]] && return 0
    kill -0 "$WEB_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop_web() { kill "$WEB_PID" 2>/dev/null; wait "$WEB_PID" 2>/dev/null || true; WEB_PID=""; }
# post FN JSON [TOKEN]: prints "STATUS BODY"
post() {
  local auth=()
  [[ -n "${3:-}" ]] && auth=(-H "Authorization: Bearer $3")
  curl -s -o "$WORK/body" -w '%{http_code}' -X POST "$URL/rpc/$1" -H 'Content-Type: application/json' \
    "${auth[@]}" --data-binary "$2"
  echo " $(cat "$WORK/body")"
}
state() { q "SELECT md5(coalesce((SELECT string_agg(d::text, ',' ORDER BY dataset_id) FROM ltv.datasets d), '')
                      || coalesce((SELECT string_agg(r::text, ',' ORDER BY run_id) FROM ltv.analysis_runs r), '')
                      || (SELECT count(*) FROM ltv.transactions))"; }
CSV=$(python3 -c 'import json; print(json.dumps("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n1,A,1,2011-01-03 10:00,5,c1\n"))')

# 2. No secret: only 127.0.0.1, read-only, said at start; a token is PostgREST's PGRST300.
if env -u LTV_JWT_SECRET -u PGRST_JWT_SECRET PGDATABASE=$DB LTV_WEB_HOST=0.0.0.0 LTV_WEB_PORT=0 \
     timeout 10 node web/server/index.js >"$WORK/open.out" 2>&1; then
  fail "without a secret the server served 0.0.0.0"
else
  grep -q "refusing to serve 0.0.0.0" "$WORK/open.out" && ok "without a secret, 0.0.0.0 is refused" \
    || fail "0.0.0.0 without a secret: $(cat "$WORK/open.out")"
fi
unset LTV_JWT_SECRET PGRST_JWT_SECRET
start_web "$WORK/anon.log" LTV_WEB_HOST=127.0.0.1 || { fail "server did not start: $(cat "$WORK/anon.log.err")"; exit 1; }
grep -q "no LTV_JWT_SECRET.*ltv_web (read-only), 127.0.0.1 only" "$WORK/anon.log.err" && ok "says it is read-only at start" \
  || fail "start message: $(cat "$WORK/anon.log.err")"
before=$(state)
got=$(post upload_dataset "{\"name\": \"anon\", \"csv\": $CSV}")
[[ "$got" == "401 "*'"code":"42501"'* ]] && ok "anonymous upload: 401" || fail "anonymous upload: $got"
got=$(post datasets '{}' "a.b.c")
[[ "$got" == '500 {"code":"PGRST300","details":null,"hint":null,"message":"Server lacks JWT secret"}' ]] \
  && ok "a token without a secret: 500 PGRST300" || fail "token without secret: $got"
[[ $(state) == "$before" ]] && ok "unchanged" || fail "the database changed"
stop_web

# 3. With a secret: tokens pick the role.
export LTV_JWT_SECRET
LTV_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_web "$WORK/jwt.log" LTV_WEB_HOST=127.0.0.1 || { fail "server did not start: $(cat "$WORK/jwt.log.err")"; exit 1; }
ALICE=$(node web/scripts/token.mjs e2e_alice 1)
BOB=$(node web/scripts/token.mjs e2e_bob 1)
VIC=$(node web/scripts/token.mjs e2e_vic 1)

got=$(post upload_dataset "{\"name\": \"alice shop\", \"csv\": $CSV}" "$ALICE")
[[ "$got" == "200 "* ]] && grep -Eq '"owner" ?: ?"e2e_alice"' <<<"$got" && ok "alice uploads; the dataset is hers" || fail "alice upload: $got"
alice_ds=$(q "SELECT dataset_id FROM ltv.datasets WHERE name = 'alice shop'")

# Attack 1: replace or delete a dataset by name.
before=$(state)
got=$(post upload_dataset "{\"name\": \"alice shop\", \"csv\": $CSV, \"options\": {\"replace\": true}}" "$BOB")
[[ "$got" == "403 "*'"code":"42501"'*'belongs to role \"e2e_alice\"'* ]] && ok "bob's replace of alice's dataset: 403" || fail "bob replace: $got"
got=$(post delete_dataset "{\"dataset_id\": $alice_ds}" "$BOB")
[[ "$got" == "403 "* ]] && ok "bob's delete of alice's dataset: 403" || fail "bob delete: $got"
got=$(post upload_dataset "{\"name\": \"vic\", \"csv\": $CSV}" "$VIC")
[[ "$got" == "403 "*'"code":"42501"'* ]] && ok "viewer upload: 403" || fail "viewer upload: $got"
got=$(post upload_dataset "{\"name\": \"alice shop\", \"csv\": $CSV, \"options\": {\"replace\": true}}")
[[ "$got" == "401 "* ]] && ok "anonymous replace: 401" || fail "anonymous replace: $got"
[[ $(state) == "$before" ]] && ok "unchanged" || fail "the database changed"

# Attack 2: unbounded work, and every worker slot.
for i in 1 2 3 4 5 6 7; do q "SET ROLE e2e_bob; SELECT ltv.generate_dataset('bob $i', 300, $i)" >/dev/null; done
bob_ds=$(q "SELECT dataset_id FROM ltv.datasets WHERE name = 'bob 1'")
before=$(state)
got=$(post run_analysis "{\"dataset_id\": $bob_ds, \"options\": {\"forest\": {\"n_trees\": 10000, \"threads\": 64, \"min_samples_leaf\": 1}, \"evaluation\": \"backtest\", \"backtest_folds\": 12, \"stack_snapshots\": 24}}" "$BOB")
[[ "$got" == "400 "*'"code":"22023"'* ]] && ok "the costly options through the API: 400" || fail "costly options: $got"
[[ $(state) == "$before" ]] && ok "unchanged" || fail "the database changed"
accepted=0
refused=0
for id in $(q "SELECT dataset_id FROM ltv.datasets WHERE name LIKE 'bob %' ORDER BY dataset_id"); do
  got=$(post run_analysis "{\"dataset_id\": $id}" "$BOB")
  case "$got" in
    "200 "*) accepted=$((accepted + 1)) ;;
    "429 "*'"code":"PT429"'*'ltv.api_max_active_runs'*) refused=$((refused + 1)) ;;
    *) fail "run_analysis of dataset $id: $got" ;;
  esac
done
active=$(q "SELECT count(*) FROM ltv.analysis_runs WHERE requested_by = 'e2e_bob' AND status IN ('queued', 'running')")
workers=$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'retail_ltv analysis'")
[[ $accepted == 2 && $refused == 5 && $active -le 2 ]] \
  && ok "seven runs requested: $accepted accepted, $refused refused with 429; $active active, $workers workers" \
  || fail "active-run quota: $accepted accepted, $refused refused, $active active"
# alice may not cancel bob's runs; bob may.
run=$(q "SELECT max(run_id) FROM ltv.analysis_runs WHERE requested_by = 'e2e_bob'")
got=$(post cancel_analysis "{\"run_id\": $run}" "$ALICE")
[[ "$got" == "403 "* && $(q "SELECT cancel_requested FROM ltv.analysis_runs WHERE run_id = $run") == f ]] \
  && ok "alice's cancel of bob's run: 403, not requested" || fail "alice cancel: $got"
got=$(post cancel_analysis "{\"run_id\": $run}" "$BOB")
[[ "$got" == "200 "* ]] && ok "bob cancels his run: $got" || fail "bob cancel: $got"
# The worker acted as bob: every run's rows are bob's (row-level security let it write them).
for _ in $(seq 600); do
  [[ $(q "SELECT count(*) FROM ltv.runs WHERE status IN ('queued', 'running')") == 0 ]] && break
  sleep 0.2
done
got=$(q "SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM ltv.runs WHERE requested_by = 'e2e_bob'")
[[ "$got" == "cancelled,succeeded" || "$got" == "succeeded" || "$got" == "cancelled" ]] \
  && ok "bob's runs ended: $got" || fail "bob's runs: $got ($(q "SELECT string_agg(DISTINCT error, '; ') FROM ltv.runs"))"

# Tokens: bad signature, expired, unknown role are 401 with PostgREST's bodies.
BAD=$(LTV_JWT_SECRET=$(printf 'x%.0s' $(seq 32)) node web/scripts/token.mjs e2e_alice 1)
got=$(post datasets '{}' "$BAD")
[[ "$got" == '401 {"code":"PGRST301","details":null,"hint":null,"message":"JWSError JWSInvalidSignature"}' ]] \
  && ok "bad signature: 401 PGRST301" || fail "bad signature: $got"
NOBODY=$(node web/scripts/token.mjs e2e_nobody 1)
got=$(post datasets '{}' "$NOBODY")
[[ "$got" == '401 {"code":"22023","details":null,"hint":null,"message":"role \"e2e_nobody\" does not exist"}' ]] \
  && ok "unknown role: 401 22023" || fail "unknown role: $got"
stop_web

if ((FAILS > 0)); then echo "roles: $FAILS failed"; exit 1; fi
echo "roles: all passed"
