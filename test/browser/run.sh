#!/usr/bin/env bash
# Dashboard tests in CI: unit tests, the model-quality card against crafted API answers (no
# database), server tests (node:test) and end-to-end tests in headless Chromium (playwright-core
# driving Debian's /usr/bin/chromium) against the real extension.
#
# Needs: PG* env (PGHOST, PGPORT, PGUSER, ...) pointing at a running PostgreSQL 15 cluster where
# the login user may CREATE DATABASE and CREATE EXTENSION retail_ltv (a superuser), with the
# extension installed; node + npm (and network access to the npm registry the first time);
# /usr/bin/chromium (installed with scripts/install-deps.sh --web when missing).
# Uses ../shared/data/online_retail.csv.gz (relative to the project root) when present, else the
# committed real-data sample in test/browser/fixtures/.
#
# Env: LTV_BROWSER_KEEP_DB=1 keeps the test database; LTV_BROWSER_DB names it;
# LTV_BROWSER_FULL_CSV overrides the path of the full dataset (a missing path tests the fallback).
# Screenshots go to test/browser/artifacts/. The last line is "browser: N passed, M failed".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ART="$HERE/artifacts"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ltv-browser.XXXXXX")
DB=${LTV_BROWSER_DB:-ltv_browser_$$}
SERVER_PID=""
passed=0
failed=0

finish() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  if [[ "${LTV_BROWSER_KEEP_DB:-0}" != 1 && -n "${DB_CREATED:-}" ]]; then
    dropdb --if-exists "$DB" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  if ((rc != 0 && passed + failed == 0)); then failed=1; fi
  echo "browser: $passed passed, $failed failed"
  if ((failed > 0)); then exit 1; fi
  exit "$rc"
}
trap finish EXIT

die() { echo "test/browser/run.sh: $*" >&2; failed=$((failed + 1)); exit 1; }

# Counts a node:test TAP report into passed/failed.
count_tap() {
  local tap=$1 p f
  p=$(grep -E '^# pass [0-9]+' "$tap" | tail -n1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+' "$tap" | tail -n1 | awk '{print $3}')
  if [[ -z "$p" || -z "$f" ]]; then
    echo "no test summary in $tap (the test process crashed?)" >&2
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + p))
  failed=$((failed + f))
}

run_node_tests() {
  local name=$1 file=$2 tap="$WORK/$1.tap"
  echo "== $name"
  (cd "$ROOT/web" && node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "$file")
  count_tap "$tap"
}

# 0. Tools.
if [[ ! -x /usr/bin/chromium ]] || ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  "$ROOT/scripts/install-deps.sh" --web || die "cannot install node/npm/chromium"
fi
command -v psql >/dev/null || die "psql is needed"
psql -X -qAt -d "${PGDATABASE:-postgres}" -c 'SELECT 1' >/dev/null || die "cannot connect to PostgreSQL with the PG* environment"

# (a) Build the dashboard.
"$ROOT/web/scripts/build.sh" || die "web build failed"

mkdir -p "$ART"
rm -f "$ART"/*.png
export LTV_E2E_ARTIFACTS=$ART LTV_E2E_TMP=$WORK

# Unit tests and the model-quality card against crafted API answers need no database.
run_node_tests unit "$HERE/unit.test.mjs"
run_node_tests insights "$HERE/insights.test.mjs"

# (b) A fresh database with the extension.
dropdb --if-exists "$DB" >/dev/null 2>&1
createdb "$DB" || die "createdb $DB failed"
DB_CREATED=1
export PGDATABASE=$DB
psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION retail_ltv' || die "CREATE EXTENSION retail_ltv failed"
api=$(psql -X -qAt -c "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'ltv_api' AND p.proname = 'upload_dataset'")
[[ "$api" == 1 ]] || die "the installed extension has no ltv_api.upload_dataset"

# An analyst's token, as PostgREST would take it: the server verifies it with the secret.
psql -X -q -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ltv_browser_analyst') THEN CREATE ROLE ltv_browser_analyst NOLOGIN IN ROLE ltv_analyst; END IF; END \$\$" \
  || die "cannot create the analyst role"
export LTV_JWT_SECRET=${LTV_JWT_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
LTV_TEST_TOKEN=$(node "$ROOT/web/scripts/token.mjs" ltv_browser_analyst 2) || die "cannot make a token"
export LTV_TEST_TOKEN

# (c) The local server on a free port.
LTV_WEB_HOST=127.0.0.1 LTV_WEB_PORT=0 node "$ROOT/web/server/index.js" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's|^retail_ltv dashboard: \(http://[^ ]*\)/$|\1|p' "$WORK/server.out")
  [[ -n "$url" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
[[ -n "$url" ]] || { cat "$WORK/server.err" >&2; die "the local server did not start"; }
echo "local server: $url (database $DB)"
export LTV_TEST_URL=$url

# (d) Server tests.
run_node_tests server "$HERE/server.test.mjs"

# (e) End-to-end in headless Chromium.
full=${LTV_BROWSER_FULL_CSV:-$ROOT/../shared/data/online_retail.csv.gz}
if [[ -f "$full" ]]; then
  gzip -dc "$full" >"$WORK/online_retail.csv" || die "cannot unpack $full"
  export LTV_E2E_CSV="$WORK/online_retail.csv"
else
  echo "note: $full is absent: the e2e test uploads the committed sample instead"
  gzip -dc "$HERE/fixtures/online_retail_sample.csv.gz" >"$WORK/online_retail_sample.csv"
  export LTV_E2E_CSV="$WORK/online_retail_sample.csv"
fi
run_node_tests e2e "$HERE/e2e.test.mjs"

if ((failed > 0)); then
  echo "--- server log (last 30 lines)"
  tail -n 30 "$WORK/server.err"
fi
