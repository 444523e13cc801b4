# Sourced by the end-to-end scripts (not run on its own; scripts/test.sh runs test/e2e/*.sh).
#
# ltv_stage_real_data: copies the UCI Online Retail file (LTV_REAL_DATA, or
# ../shared/data/online_retail.csv.gz from the project root) into a directory the server can
# read (LTV_TEST_DIR or a new temporary one) and sets REAL_DATA to the copy's path. Returns 1,
# after printing why, when the file is absent.
ltv_stage_real_data() {
  local source
  source=${LTV_REAL_DATA:-$(readlink -f ../shared/data/online_retail.csv.gz 2>/dev/null || true)}
  if [[ -z "$source" || ! -f "$source" ]]; then
    echo "SKIP: real data file ../shared/data/online_retail.csv.gz not found"
    return 1
  fi
  local work=${LTV_TEST_DIR:-$(mktemp -d)}
  chmod 755 "$work"
  cp "$source" "$work/online_retail.csv.gz"
  chmod 644 "$work/online_retail.csv.gz"
  REAL_DATA="$work/online_retail.csv.gz"
}
