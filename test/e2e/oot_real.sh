#!/usr/bin/env bash
# Out-of-time quality on real data, as a new user would meet it (bench/oot_quality.py):
# Online Retail II cut at its last purchase - 182 days, and a year earlier; each cut imported
# alone, analysed with default options, and the stored buckets scored against what the
# customers really spent in the next 182 days. Fails when the served buckets lose to the naive
# rule ("bucket of the last 182 days' spend") on either cut. Skips without the file.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${LTV_REAL_DATA_II:-$(readlink -f ../shared/data/online_retail_ii.csv.gz 2>/dev/null || true)}
if [[ -z "$DATA" || ! -f "$DATA" ]]; then
  echo "SKIP: real data file ../shared/data/online_retail_ii.csv.gz not found"
  exit 0
fi
LTV_OOT_DB=ltv_e2e_oot /usr/bin/python3 bench/oot_quality.py --file "$DATA" --years-back 1 --min-lift 0
