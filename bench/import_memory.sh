#!/usr/bin/env bash
# Peak memory of an import per MB of input (issue 14, item 4): the backend's VmHWM (peak
# resident set) after ltv.import_csv of a file's bytes (as the API path sends them) and after
# ltv.import_csv_file, each in a fresh session. Needs a running server on this machine
# (PG* variables), the extension installed, and a CSV (default: the UCI file, unpacked).
# VmHWM counts the shared buffers the backend touched too (the new partition's pages), so it
# overstates private memory by up to the data written.
#   bench/import_memory.sh [file.csv[.gz]]
set -euo pipefail
SRC=${1:-$(dirname "$0")/../../shared/data/online_retail.csv.gz}
[[ -f "$SRC" ]] || { echo "skip: $SRC is absent"; exit 0; }
WORK=$(mktemp -d /tmp/ltv_import_memory.XXXXXX); chmod 755 "$WORK"
trap 'rm -rf "$WORK"; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ltv_bench_memory"' EXIT
if [[ "$SRC" == *.gz ]]; then gzip -dc "$SRC" >"$WORK/in.csv"; else cp "$SRC" "$WORK/in.csv"; fi
chmod 644 "$WORK/in.csv"
MB=$(python3 -c "import os; print(round(os.path.getsize('$WORK/in.csv') / 2**20, 1))")
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ltv_bench_memory" -c "CREATE DATABASE ltv_bench_memory"
psql -X -q -d ltv_bench_memory -c "CREATE EXTENSION retail_ltv"
for call in "ltv.import_csv('m', pg_read_binary_file('$WORK/in.csv'), '{\"replace\": true}')" \
            "ltv.import_csv_file('m', '$WORK/in.csv', '{\"replace\": true}')"; do
  peak=$(psql -X -q -At -d ltv_bench_memory -c "SELECT $call" \
    -c "SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1]")
  peak_mb=$(python3 -c "print(round(int('${peak##*$'\n'}') / 1024, 1))")
  echo "${call%%(*}: input $MB MB, backend peak RSS $peak_mb MB ($(python3 -c "print(round($peak_mb / $MB, 2))")x the file)"
done
