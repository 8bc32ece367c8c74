#!/usr/bin/env bash
# Configures and builds one build tree. Usage: scripts/build.sh [release|asan|demo]
#   release  build/, RelWithDebInfo, everything (tests, benchmarks)
#   asan     build-asan/, Debug with ASan + UBSan, tests
#   demo     build/, RelWithDebInfo, only sluice and the demo backend (scripts/demo.sh): no
#            GoogleTest or Google Benchmark needed
# Every kind names each option it depends on, so that `release` after `demo` (both use build/)
# turns the tests and benchmarks back on instead of inheriting the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
targets=()
case "$kind" in
  release) dir=build;      flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE=OFF -DSLUICE_TESTS=ON -DSLUICE_BENCH=ON) ;;
  asan)    dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_TESTS=ON -DSLUICE_BENCH=OFF) ;;
  demo)    dir=build;      flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE=OFF -DSLUICE_TESTS=OFF -DSLUICE_BENCH=OFF)
           targets=(--target sluice sluice-test-backend) ;;
  *) echo "usage: $0 [release|asan|demo]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
