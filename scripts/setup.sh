#!/usr/bin/env bash
# Installs what Sluice needs to build, run and test, from Debian's and npm's registries.
# Idempotent: when everything is present it only checks, in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  clang cmake ninja-build pkg-config git
  libboost1.74-dev nlohmann-json3-dev libsqlite3-dev libssl-dev
  libgtest-dev libgmock-dev googletest
  libicu-dev nettle-dev
  clang-format
  python3-boto3 awscli
  nodejs npm
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# A machine may already carry a newer Node.js outside Debian's packages; keep it.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs}")
  missing=("${missing[@]/npm}")
fi
pkgs=()
for p in "${missing[@]}"; do [ -n "$p" ] && pkgs+=("$p"); done
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${pkgs[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# npm packages pinned in package-lock.json: DuckDB's official prebuilt library and C
# header (duckdb, @duckdb/node-bindings-linux-x64) and the JavaScript AWS SDK client used
# by the tests. Install scripts are skipped: nothing may be downloaded from elsewhere.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
fi
