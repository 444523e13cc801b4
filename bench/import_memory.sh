#!/usr/bin/env bash
# Peak memory of an import per MB of input (issue 14, item 4): the backend of ltv.import_csv,
# ltv.import_csv_file and of a web upload, and the web server itself; medians over
# BENCH_REPEATS runs (default 3). See bench/import_memory.py for what each figure counts.
#   bench/import_memory.sh [file.csv[.gz]] [--repeats N] [--no-web] [--check FACTOR]
set -euo pipefail
exec python3 "$(dirname "$0")/import_memory.py" "$@"
