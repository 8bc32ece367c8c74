#!/usr/bin/env bash
# What discovery costs in the data plane (issue #11):
#   1. propagation: from a change of the endpoint file to the first request routed to the new
#      endpoint (propagation.py; a lone change each round);
#   2. request latency during a burst of discovery updates vs steady state: wrk through sluice
#      with the file rewritten every --every seconds (each rewrite a new set) vs untouched.
# One sluice (workers: 1), three sluice-test-backend http backends on loopback.
# --source etcd: the cluster comes from a real etcd (started here) instead, and propagation is
# timed from an etcd put; the latency part always rewrites the file.
#   bench/e2e/discovery.sh [--sluice PATH] [--backend PATH] [--source file|etcd] [--rounds N]
#                          [--every S] [--keep]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

THREADS=1 CONNECTIONS=32 DURATION=10s WARMUP=2s KEEP=0
ROUNDS=200 EVERY=0.01 BACKEND_BIN="" SOURCE=file
while [ $# -gt 0 ]; do
  case "$1" in
    --sluice) SLUICE="$2"; shift 2 ;;
    --backend) BACKEND_BIN="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --source) SOURCE="$2"; shift 2 ;;
    --every) EVERY="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bench_setup
ensure_sluice
if [ -z "$BACKEND_BIN" ]; then
  for candidate in "$ROOT/build/tests/support/sluice-test-backend" \
                   "$ROOT/build-bench/tests/support/sluice-test-backend"; do
    [ -x "$candidate" ] && BACKEND_BIN="$candidate" && break
  done
fi
[ -x "$BACKEND_BIN" ] || { echo "no sluice-test-backend: build the tests or pass --backend" >&2; exit 1; }

declare -A ADDR
for name in a b c; do
  port="$(free_port)"
  "$BACKEND_BIN" --listen "127.0.0.1:$port" --mode http --name "$name" >"$WORK/backend-$name.log" 2>&1 &
  PIDS+=($!)
  ADDR[$name]="127.0.0.1:$port"
  wait_port "$port"
done

PORT="$(free_port)"
EPS="$WORK/endpoints.yaml"
printf -- '- %s\n' "${ADDR[a]}" >"$EPS"
DISCOVERY="file: $EPS"
if [ "$SOURCE" = etcd ]; then
  ETCD_PORT="$(free_port)" ETCD_PEER="$(free_port)"
  etcd --data-dir "$WORK/etcd" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER" >"$WORK/etcd.log" 2>&1 &
  PIDS+=($!)
  wait_port "$ETCD_PORT"
  DISCOVERY="etcd: { endpoints: [127.0.0.1:$ETCD_PORT], prefix: /bench/ }"
fi
cat >"$WORK/sluice.yaml" <<YAML
workers: 1
log: { level: ${LOG_LEVEL:-warn} }
listeners:
  - name: bench
    listen: 127.0.0.1:$PORT
    protocol: http
    routes: [ { name: all, match: { path_prefix: / }, cluster: c } ]
    timeouts: { connect: 1s, idle: 60s }
clusters:
  - name: c
    balancer: { type: round_robin }
    discovery: { $DISCOVERY, hold_fraction: 1 }
YAML
"$SLUICE" --config "$WORK/sluice.yaml" >"$WORK/sluice.log" 2>&1 &
SLUICE_PID=$!
PIDS+=("$SLUICE_PID")
wait_port "$PORT"

APPLY="file:$EPS"
[ "$SOURCE" = etcd ] && APPLY="etcd:127.0.0.1:$ETCD_PORT:/bench/"
echo "== propagation: $SOURCE change -> first request to the new endpoint ($ROUNDS changes)"
python3 "$HERE/propagation.py" --port "$PORT" --base "a=${ADDR[a]}" \
  --alternate "b=${ADDR[b]},c=${ADDR[c]}" --apply "$APPLY" --rounds "$ROUNDS"
[ "$SOURCE" = etcd ] && { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"; exit 0; }

echo "== latency: steady vs the file rewritten every ${EVERY}s (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)"
printf -- '- %s\n- %s\n' "${ADDR[a]}" "${ADDR[b]}" >"$EPS"
measure steady "$PORT" "$SLUICE_PID"
(
  i=0
  while :; do
    if [ $((i % 2)) = 0 ]; then set -- a b; else set -- a c; fi
    printf -- '- %s\n- %s\n' "${ADDR[$1]}" "${ADDR[$2]}" >"$EPS.tmp" && mv "$EPS.tmp" "$EPS"
    i=$((i + 1))
    sleep "$EVERY"
  done
) &
WRITER=$!
PIDS+=("$WRITER")
measure burst "$PORT" "$SLUICE_PID"
kill "$WRITER" 2>/dev/null || true
printf '%-8s %10s %10s %12s %8s\n' run req/s p99_ms cpu_us/req errors
for run in steady burst; do
  printf '%-8s %10s %10s %12s %8s\n' "$run" "${RPS[$run]}" "${P99[$run]}" "${CPU[$run]}" "${ERR[$run]}"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
