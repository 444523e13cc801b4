#!/usr/bin/env bash
# Runs the benchmarks side by side against a throwaway local cluster (or an existing server
# with LTV_USE_EXISTING=1 and PG* variables). Usage: bench/run.sh [import|features|forest|all]
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:-all}
bash scripts/install-deps.sh
make -s -j2 >/dev/null && make -s install >/dev/null
source scripts/pg-cluster.sh
if [[ "${LTV_USE_EXISTING:-0}" != 1 ]]; then
  DIR=$(mktemp -d /tmp/retail_ltv_bench.XXXXXX); chmod 755 "$DIR"
  ltv_cluster_start "$DIR/data" "$(ltv_free_port)"
  trap 'ltv_cluster_stop "$DIR/data"; rm -rf "$DIR"' EXIT
fi
for b in import features forest; do
  if [[ "$WHICH" == all || "$WHICH" == "$b" ]] && [[ -f "bench/${b}_bench.py" ]]; then
    /usr/bin/python3 "bench/${b}_bench.py"
  fi
done
