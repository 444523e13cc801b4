#!/usr/bin/env bash
# Runs every test of retail_ltv on this machine:
#   1. C++ unit tests of the core (GoogleTest via ctest)
#   2. build + install the extension, start a throwaway cluster, pg_regress (make installcheck)
#   3. end-to-end checks: real Online Retail data (skipped with a message if absent), the
#      background worker (cancel, kill, restart), SQL-level mutation tests
#   4. the dashboard: local server tests and end-to-end tests in headless Chromium
#   5. fuzzing: libFuzzer targets for a bounded time
# Usage: scripts/test.sh [--quick]   (--quick: 10 s per fuzzer instead of 60)
# Existing server: set LTV_USE_EXISTING=1 and the usual PG* variables; the extension must be
# installable there (make install on that machine) and the role a superuser.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${LTV_FUZZ_SECONDS:-60}
[[ "${1:-}" == "--quick" ]] && FUZZ_SECONDS=10
JOBS=${JOBS:-2}

bash scripts/install-deps.sh --web || { echo "dependency install failed"; exit 1; }
source scripts/pg-cluster.sh

PASSED=0
FAILED=0
FAILED_NAMES=()
record() {  # record NAME PASSED_COUNT FAILED_COUNT
  PASSED=$((PASSED + $2))
  FAILED=$((FAILED + $3))
  if (($3 > 0)); then FAILED_NAMES+=("$1"); fi
}
section() { printf '\n=== %s ===\n' "$*"; }

# 1. Unit tests ------------------------------------------------------------------------------
section "C++ unit tests (ctest)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >build-cmake.log 2>&1 || { cat build-cmake.log; exit 1; }
if cmake --build build -j"$JOBS" >build-make.log 2>&1; then
  ctest --test-dir build --output-on-failure -j"$JOBS" 2>&1 | tee build-ctest.log | tail -n 15
  total=$(grep -Eo 'out of [0-9]+' build-ctest.log | tail -n1 | grep -Eo '[0-9]+' || echo 0)
  failed=$(grep -Eo '[0-9]+ tests failed' build-ctest.log | tail -n1 | grep -Eo '[0-9]+' || echo 1)
  record unit $((total - failed)) "$failed"
else
  tail -n 40 build-make.log
  record unit-build 0 1
fi

# 2. Extension build, install, regression tests -------------------------------------------
section "Extension build and install"
if ! { make -j"$JOBS" -s >build-ext.log 2>&1 && make install -s >>build-ext.log 2>&1; }; then
  tail -n 40 build-ext.log
  echo "tests: $PASSED passed, $((FAILED + 1)) failed"
  exit 1
fi

TEST_DIR=""
if [[ "${LTV_USE_EXISTING:-0}" != 1 ]]; then
  TEST_DIR=$(mktemp -d /tmp/retail_ltv_test.XXXXXX)
  chmod 755 "$TEST_DIR"
  export LTV_CLUSTER_DISPOSABLE=1
  ltv_cluster_start "$TEST_DIR/data" "$(ltv_free_port)" || { echo "could not start the test cluster"; exit 1; }
  trap 'ltv_cluster_stop "$TEST_DIR/data"; rm -rf "$TEST_DIR"' EXIT
  export LTV_TEST_DIR=$TEST_DIR
  export LTV_PGDATA=$TEST_DIR/data  # lets the worker e2e test restart the server
else
  export LTV_TEST_DIR=${LTV_TEST_DIR:-$(mktemp -d)}
fi
echo "server: PGHOST=$PGHOST PGPORT=$PGPORT"

section "pg_regress (make installcheck)"
make installcheck >build-regress.log 2>&1
cat build-regress.log | grep -E '^(ok|not ok|test |     |All|[0-9]+ of)|tests (passed|failed)' | tail -n 60
r_total=$(grep -Ec '^(ok|not ok) ' build-regress.log)
r_failed=$(grep -Ec '^not ok ' build-regress.log)
if ((r_total == 0)); then  # older pg_regress output format
  r_total=$(grep -Ec '^test .* \.\.\. ' build-regress.log)
  r_failed=$(grep -Ec '\.\.\. FAILED' build-regress.log)
fi
[[ -f regression.diffs ]] && head -n 80 regression.diffs
record regress $((r_total - r_failed)) "$r_failed"

# 3. End-to-end checks ----------------------------------------------------------------------
for t in test/e2e/*.sh; do
  [[ -e "$t" ]] || continue
  section "e2e: $(basename "$t")"
  if bash "$t"; then record "$t" 1 0; else record "$t" 0 1; fi
done

# 4. Dashboard: server tests and headless Chromium ----------------------------------------
section "browser: test/browser/run.sh"
bash test/browser/run.sh 2>&1 | tee build-browser.log | tail -n 40
b_line=$(grep -E '^browser: [0-9]+ passed, [0-9]+ failed' build-browser.log | tail -n1)
if [[ -n "$b_line" ]]; then
  record browser "$(echo "$b_line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+')" \
    "$(echo "$b_line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+')"
else
  record browser 0 1
fi

# 5. Fuzzing --------------------------------------------------------------------------------
section "libFuzzer targets (${FUZZ_SECONDS}s each)"
if CXX=clang++ cmake -S . -B build-fuzz -DLTV_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >build-fuzz.log 2>&1 &&
   cmake --build build-fuzz -j"$JOBS" >>build-fuzz.log 2>&1; then
  for fuzzer in build-fuzz/fuzz_*; do
    [[ -x "$fuzzer" ]] || continue
    name=$(basename "$fuzzer")
    corpus=$(mktemp -d)
    [[ -d "test/fuzz/corpus/$name" ]] && cp -r "test/fuzz/corpus/$name/." "$corpus/"
    if "$fuzzer" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 -timeout=10 -rss_limit_mb=2048 \
         "$corpus" >"build-$name.log" 2>&1; then
      echo "ok   $name: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "build-$name.log" | tail -n1)s"
      record "$name" 1 0
    else
      echo "FAIL $name"; tail -n 40 "build-$name.log"
      record "$name" 0 1
    fi
    rm -rf "$corpus"
  done
else
  tail -n 30 build-fuzz.log
  record fuzz-build 0 1
fi

section "Summary"
if ((FAILED > 0)); then echo "failed: ${FAILED_NAMES[*]}"; fi
echo "tests: $PASSED passed, $FAILED failed"
((FAILED == 0))
