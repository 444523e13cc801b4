#!/usr/bin/env bash
# Installs what building, testing and running retail_ltv needs on Debian 12, idempotently:
# nothing is installed (and apt is not touched) when everything is already there.
#   scripts/install-deps.sh            build + test + run dependencies
#   scripts/install-deps.sh --web      also Node/Chromium for the dashboard and its tests
set -euo pipefail

packages=(
  build-essential cmake clang libclang-rt-14-dev clang-format
  postgresql-15 postgresql-server-dev-15 postgresql-contrib
  libcsv-dev libeigen3-dev zlib1g-dev libgtest-dev libbenchmark-dev
  python3-pandas python3-sklearn python3-xgboost
)
if [[ "${1:-}" == "--web" ]]; then
  packages+=(nodejs npm chromium)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from elsewhere than Debian (a newer Node is fine): accept any node on PATH.
if command -v node >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]:-}"
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "Installing: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Do not let the package start the system cluster: retail_ltv runs its own.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
