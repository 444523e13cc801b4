#!/usr/bin/env bash
# Runs the benchmarks side by side against a throwaway local cluster (or an existing server
# with LTV_USE_EXISTING=1 and PG* variables). Usage:
#   bench/run.sh [import|features|forest|pipeline|explain|export|all]
# Each name runs bench/<name>_bench.py; see the docstring of each file for its BENCH_* knobs
# (e.g. BENCH_CUSTOMERS=100000 BENCH_REPEATS=1 bench/run.sh forest for a shorter run).
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:-all}
BENCHES=(import features forest pipeline explain export)
if [[ "$WHICH" != all && ! " ${BENCHES[*]} " =~ " $WHICH " ]]; then
  echo "usage: bench/run.sh [import|features|forest|pipeline|explain|export|all]" >&2
  exit 2
fi
bash scripts/install-deps.sh
make -s -j2 >/dev/null && make -s install >/dev/null
source scripts/pg-cluster.sh
if [[ "${LTV_USE_EXISTING:-0}" != 1 ]]; then
  DIR=$(mktemp -d /tmp/retail_ltv_bench.XXXXXX); chmod 755 "$DIR"
  ltv_cluster_start "$DIR/data" "$(ltv_free_port)"
  trap 'ltv_cluster_stop "$DIR/data"; rm -rf "$DIR"' EXIT
fi
for b in "${BENCHES[@]}"; do
  if [[ "$WHICH" == all || "$WHICH" == "$b" ]]; then
    echo "=== bench/${b}_bench.py"
    /usr/bin/python3 "bench/${b}_bench.py"
  fi
done
