#!/usr/bin/env bash
# README command 1: install what the demo needs (scripts/install-deps.sh demo), build sluice
# and the demo backend only (scripts/build.sh demo), start two demo HTTP backends on
# 127.0.0.1:9001 and :9002, and run sluice in front of them on 127.0.0.1:8080 with
# config/examples/default.yaml. Try: curl http://127.0.0.1:8080/
# Ctrl-C, or SIGTERM/SIGINT to this script alone, stops sluice (it drains, then exits) and
# the backends, and the script exits.
#
# Knobs (tests/scripts runs the demo this way on free ports, with a tree built already):
#   SLUICE_DEMO_SKIP_INSTALL=1   do not install packages
#   SLUICE_DEMO_SKIP_BUILD=1     do not build; use what SLUICE_DEMO_BUILD_DIR holds
#   SLUICE_DEMO_BUILD_DIR=DIR    the build tree (default: build)
#   SLUICE_DEMO_CONFIG=FILE      the config sluice runs (default: config/examples/default.yaml)
#   SLUICE_DEMO_BACKENDS="A B"   the backends' listen addresses (default: the two above), as
#                                the config's endpoints expect them
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${SLUICE_DEMO_BUILD_DIR:-build}"
config="${SLUICE_DEMO_CONFIG:-config/examples/default.yaml}"
read -r -a backends <<<"${SLUICE_DEMO_BACKENDS:-127.0.0.1:9001 127.0.0.1:9002}"
[ "${SLUICE_DEMO_SKIP_INSTALL:-0}" = 1 ] || scripts/install-deps.sh demo
[ "${SLUICE_DEMO_SKIP_BUILD:-0}" = 1 ] || scripts/build.sh demo

sluice_pid=""
backend_pids=()
# Stops sluice first (SIGTERM: it drains, then exits 0), then the backends; waits for each,
# so that nothing outlives the script. Anything still running after 10 s is killed.
stop() {
  trap '' INT TERM  # a second Ctrl-C must not cut the clean-up short
  local p
  for p in $sluice_pid "${backend_pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
# `wait` returns as soon as a trapped signal arrives, so these run at once, not when sluice
# happens to exit. Exit statuses follow the shell's: 128 + the signal's number.
trap 'stop; trap - EXIT; exit 130' INT
trap 'stop; trap - EXIT; exit 143' TERM
trap stop EXIT

for i in "${!backends[@]}"; do
  "$build_dir/tests/support/sluice-test-backend" --mode http --name "demo-$((i + 1))" \
    --listen "${backends[$i]}" >/dev/null &
  backend_pids+=($!)
done
echo "sluice: running $config in front of ${backends[*]} (Ctrl-C to stop)"
[ -n "${SLUICE_DEMO_CONFIG:-}" ] || echo "sluice: try  curl http://127.0.0.1:8080/"
"$build_dir/proxy/sluice" --config "$config" &
sluice_pid=$!
status=0
wait "$sluice_pid" || status=$?
sluice_pid=""  # exited by itself (a port in use, say): only the backends are left to stop
exit "$status"
