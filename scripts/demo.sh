#!/usr/bin/env bash
# README command 1: install dependencies, build, start two demo HTTP backends on
# 127.0.0.1:9001 and :9002, and run sluice in front of them on 127.0.0.1:8080
# with config/examples/default.yaml. Try: curl http://127.0.0.1:8080/
# Ctrl-C stops sluice and the backends.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
backend=build/tests/support/sluice-test-backend
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for i in 1 2; do
  "$backend" --mode http --name "demo-$i" --listen "127.0.0.1:900$i" >/dev/null &
  pids+=($!)
done
echo "sluice: proxying 127.0.0.1:8080 -> 127.0.0.1:9001, 127.0.0.1:9002 (Ctrl-C to stop)"
build/proxy/sluice --config config/examples/default.yaml &
pids+=($!)
wait "${pids[-1]}"
