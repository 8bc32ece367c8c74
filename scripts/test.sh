#!/usr/bin/env bash
# README command 2 and CI: install dependencies, check the house rules, build, run the whole
# test suite, then the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Last, a short libFuzzer run of every network- and operator-facing parser (scripts/fuzz-smoke.sh,
# SLUICE_FUZZ_SECONDS each, 20 by default). SLUICE_SKIP_ASAN=1 skips the sanitizer pass and
# SLUICE_SKIP_FUZZ=1 the fuzz run (handy while iterating).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# House rules first (seconds, no compiler): formatting, includes between rooms, no cycles,
# file sizes, READMEs (scripts/README.md). A violation fails here, before a long build.
scripts/format.sh --check
scripts/check-layout
scripts/check-layout --self-test --quiet
scripts/build.sh release
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)
if [ "${SLUICE_SKIP_ASAN:-0}" != 1 ]; then
  scripts/build.sh asan
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$(nproc)" --timeout 900)
fi
if [ "${SLUICE_SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz-smoke.sh
fi
