#!/usr/bin/env bash
# What accepting the PROXY protocol costs sluice per request, measured in one run: wrk ->
# HAProxy (mode tcp, one thread) -> sluice (workers: 1, http) -> nginx `return 200`, with
# HAProxy's server line sending `send-proxy-v2` to a sluice listener with `proxy_protocol`
# ("v2"), or nothing to one without ("plain"). Both sluice processes run the same binary side
# by side; the configurations alternate for --rounds rounds to cancel machine drift. --close
# adds "Connection: close": every request is a new connection, so each carries a header (with
# keep-alive the header is paid once per connection).
#
# Prints per round requests/s, p99 and sluice's CPU time per request (utime+stime of the
# whole process), then v2's CPU per request relative to plain.
#
# usage: bench/e2e/proxy_protocol.sh [--sluice PATH] [--rounds 3] [--connections 32]
#          [--duration 10s] [--warmup 2s] [--close] [--keep]
set -euo pipefail

THREADS=1
CONNECTIONS=32
DURATION=10s
WARMUP=2s
ROUNDS=3
CLOSE=0
SLUICE=""
KEEP=0

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --sluice) SLUICE="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --close) CLOSE=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 >&2 ;;
  esac
done

# shellcheck source=bench/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup wrk haproxy
[ "$CLOSE" = 1 ] && WRK_EXTRA=(-H "Connection: close")
ensure_sluice
start_backend
MODE=http

declare -A SLUICE_PORT SLUICE_PID FRONT_PORT
for config in plain v2; do
  SLUICE_PORT[$config]="$(free_port)"
  {
    echo "workers: 1"
    sluice_proxy_yaml "${SLUICE_PORT[$config]}"
  } >"$WORK/sluice-$config.yaml"
  if [ "$config" = v2 ]; then
    sed -i 's|^    protocol: http$|    protocol: http\n    proxy_protocol: { trusted: [127.0.0.1] }|' \
      "$WORK/sluice-$config.yaml"
  fi
  "$SLUICE" --config "$WORK/sluice-$config.yaml" >"$WORK/sluice-$config.log" 2>&1 &
  SLUICE_PID[$config]=$!
  PIDS+=($!)
  wait_port "${SLUICE_PORT[$config]}"
  FRONT_PORT[$config]="$(free_port)"
done

cat >"$WORK/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend plain
  bind 127.0.0.1:${FRONT_PORT[plain]}
  default_backend plain
backend plain
  server s 127.0.0.1:${SLUICE_PORT[plain]}
frontend v2
  bind 127.0.0.1:${FRONT_PORT[v2]}
  default_backend v2
backend v2
  server s 127.0.0.1:${SLUICE_PORT[v2]} send-proxy-v2
CFG
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!)

declare -A SUM
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round" >&2
  for config in plain v2; do
    measure "$config-$round" "${FRONT_PORT[$config]}" "${SLUICE_PID[$config]}"
    if [ "${ERR[$config-$round]}" != 0 ]; then
      echo "  $config: ${ERR[$config-$round]} errors (see $WORK with --keep)" >&2
    fi
    SUM[$config]="$(awk -v a="${SUM[$config]:-0}" -v b="${CPU[$config-$round]}" 'BEGIN { print a + b }')"
  done
done
echo
printf '%-6s %14s\n' config "us CPU/req"
for config in plain v2; do
  printf '%-6s %14.2f\n' "$config" "$(awk -v s="${SUM[$config]}" -v n="$ROUNDS" 'BEGIN { print s / n }')"
done
awk -v p="${SUM[plain]}" -v v="${SUM[v2]}" \
  'BEGIN { printf "v2 / plain: %.3f (%+.1f%%)\n", v / p, (v / p - 1) * 100 }'
