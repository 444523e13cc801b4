#!/usr/bin/env bash
# Builds the dashboard into web/dist (npm ci + vite build). Idempotent: dependencies are
# reinstalled only when package-lock.json changed, and the build is skipped when neither the
# sources nor the lock file changed since the last build.
#   web/scripts/build.sh            build if needed
#   web/scripts/build.sh --force    always reinstall and rebuild
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

force=0
[[ "${1:-}" == "--force" ]] && force=1

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "web/scripts/build.sh: node and npm are needed (scripts/install-deps.sh --web installs them)" >&2
  exit 1
fi

hash_of() { sha256sum "$@" | sha256sum | cut -c1-64; }

# 1. Dependencies.
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
if [[ -f package-lock.json ]]; then
  lock_hash=$(hash_of package-lock.json package.json)
  if ((force)) || [[ ! -f node_modules/.ltv-lock-hash || "$(cat node_modules/.ltv-lock-hash)" != "$lock_hash" ]]; then
    echo "web: installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_hash" >node_modules/.ltv-lock-hash
  fi
else
  echo "web: no package-lock.json yet; npm install"
  npm install --no-audit --no-fund --loglevel=error
  hash_of package-lock.json package.json >node_modules/.ltv-lock-hash
fi

# 2. Build.
mapfile -d '' sources < <(find src public index.html vite.config.js package-lock.json -type f -print0 2>/dev/null | sort -z)
src_hash=$(hash_of "${sources[@]}")
if ((force == 0)) && [[ -f dist/index.html && -f dist/.ltv-build-hash && "$(cat dist/.ltv-build-hash)" == "$src_hash" ]]; then
  echo "web: dist is up to date"
  exit 0
fi
echo "web: building the dashboard (vite build)"
npx --no-install vite build --logLevel warn
echo "$src_hash" >dist/.ltv-build-hash
echo "web: built $(pwd)/dist"
