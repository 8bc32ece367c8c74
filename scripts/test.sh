#!/usr/bin/env bash
# README command 2 and CI: install dependencies, build, run the whole test suite,
# then the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
# SLUICE_SKIP_ASAN=1 skips the sanitizer pass (handy while iterating).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)
if [ "${SLUICE_SKIP_ASAN:-0}" != 1 ]; then
  scripts/build.sh asan
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$(nproc)" --timeout 900)
fi
