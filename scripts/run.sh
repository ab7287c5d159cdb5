#!/usr/bin/env bash
# Set up, build and run: installs what is missing, builds the release binary and starts
# `sluice serve` (extra arguments are passed to it; see `sluice serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target sluice
exec ./build/release/src/server/sluice serve "$@"
