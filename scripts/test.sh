#!/usr/bin/env bash
# Runs every test: formatting check, the release build's unit and end-to-end tests, and
# the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== clang-format check"
files=$(git ls-files 'src/*.cc' 'src/*.h')
clang-format --dry-run -Werror $files

jobs=$(nproc)
echo "== release build"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"

echo "== debug build (ASan + UBSan)"
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$jobs"

echo "== unit tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --preset debug -j "$jobs"

echo "== all tests (unit + end-to-end) on the release build"
ctest --preset release -j "$jobs"
