#!/usr/bin/env bash
# TLS termination, sluice next to HAProxy in one run, both single-threaded (sluice workers: 1,
# HAProxy nbthread 1), both with the same ECDSA P-256 certificate made for the run, both in
# front of the same nginx backend:
#   - full TLS 1.3 handshakes per second (openssl s_time -new) and the proxy's CPU per handshake
#   - TLS 1.2 resumptions per second (s_time -reuse, session tickets) and CPU per resumption
#   - HTTPS keep-alive requests (wrk over TLS 1.3) and CPU per request
# s_time is one client process on the same (shared, loaded) box: handshakes/s are bounded by
# it too, so the CPU columns (server utime+stime per operation) are what to compare.
#
# usage: bench/e2e/tls.sh [--sluice PATH] [--duration 10] [--connections 64] [--keep]
set -euo pipefail

THREADS=1
CONNECTIONS=64
DURATION=10
WARMUP=2s
SLUICE=""
KEEP=0
MODE=http
while [ $# -gt 0 ]; do
  case "$1" in
    --sluice) SLUICE="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup haproxy openssl
ensure_sluice
start_backend

make_bench_cert

SLUICE_PORT="$(free_port)"
cat >"$WORK/sluice.yaml" <<YAML
workers: 1
log: { level: warn }
listeners:
  - name: bench
    listen: 127.0.0.1:$SLUICE_PORT
    protocol: http
    tls:
      certificates: [ { cert: $WORK/cert.pem, key: $WORK/key.pem } ]
    routes:
      - { match: { path_prefix: / }, cluster: backend }
    timeouts: { connect: 1s, idle: 60s }
clusters:
  - { name: backend, endpoints: [ { address: 127.0.0.1:$BACKEND_PORT } ] }
YAML
"$SLUICE" --config "$WORK/sluice.yaml" >"$WORK/sluice.log" 2>&1 &
SLUICE_PID=$!
PIDS+=("$SLUICE_PID")

HAPROXY_PORT="$(free_port)"
cat >"$WORK/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn 4096
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  http-reuse always
  timeout connect 1s
  timeout client 60s
  timeout server 60s
listen bench
  bind 127.0.0.1:$HAPROXY_PORT ssl crt $WORK/haproxy.pem
  server backend 127.0.0.1:$BACKEND_PORT
CFG
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!
PIDS+=("$HAPROXY_PID")
wait_port "$SLUICE_PORT"
wait_port "$HAPROXY_PORT"

declare -A HS HS_CPU RES RES_CPU
# s_time NAME PORT PID: full handshakes, then resumptions; connections/s and us CPU each.
handshakes() {
  local name="$1" port="$2" pid="$3" before after out n
  for kind in new reuse; do
    before="$(cpu_ticks "$pid")"
    if [ "$kind" = new ]; then
      out="$(openssl s_time -connect "127.0.0.1:$port" -new -tls1_3 -time "$DURATION" 2>&1)"
    else
      # -reuse resumes one session over and over (TLS 1.2 tickets: s_time's 1.3 reuse is not real).
      out="$(openssl s_time -connect "127.0.0.1:$port" -reuse -tls1_2 -time "$DURATION" 2>&1)"
    fi
    after="$(cpu_ticks "$pid")"
    n="$(awk '/connections in [0-9.]+s/ { print $1; exit }' <<<"$out")"
    rate="$(awk '/connections in [0-9.]+s;/ { sub(/s;/, "", $4); printf "%.0f", $1 / $4; exit }' <<<"$out")"
    cpu="$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="${n:-0}" \
      'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }')"
    if [ "$kind" = new ]; then HS[$name]="$rate"; HS_CPU[$name]="$cpu"; else RES[$name]="$rate"; RES_CPU[$name]="$cpu"; fi
    echo "  $name $kind: ${n:-0} handshakes, $rate/s, $cpu us CPU each" >&2
  done
}

# https keep-alive: wrk over TLS, CPU per request.
https() {
  local name="$1" port="$2" pid="$3" before after out requests
  wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "https://127.0.0.1:$port/" >/dev/null 2>&1 || true
  before="$(cpu_ticks "$pid")"
  out="$WORK/wrk-$name.txt"
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "https://127.0.0.1:$port/" >"$out" 2>&1
  after="$(cpu_ticks "$pid")"
  requests="$(awk '/requests in/ { print $1 }' "$out")"
  RPS[$name]="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")"
  CPU[$name]="$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="${requests:-0}" \
    'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "-" }')"
  echo "  $name https: ${RPS[$name]} req/s, ${CPU[$name]} us CPU/req" >&2
}

for name in sluice haproxy; do
  if [ "$name" = sluice ]; then port="$SLUICE_PORT"; pid="$SLUICE_PID"; else port="$HAPROXY_PORT"; pid="$HAPROXY_PID"; fi
  handshakes "$name" "$port" "$pid"
  https "$name" "$port" "$pid"
done

printf '\n%-8s %14s %12s %14s %12s %12s %12s\n' proxy "full hs/s" "us CPU/hs" "resumed/s" "us CPU/res" "https rps" "us CPU/req"
for name in sluice haproxy; do
  printf '%-8s %14s %12s %14s %12s %12s %12s\n' "$name" "${HS[$name]}" "${HS_CPU[$name]}" \
    "${RES[$name]}" "${RES_CPU[$name]}" "${RPS[$name]}" "${CPU[$name]}"
done
awk -v a="${HS_CPU[sluice]}" -v b="${HS_CPU[haproxy]}" -v c="${RES_CPU[sluice]}" -v d="${RES_CPU[haproxy]}" \
    -v e="${CPU[sluice]}" -v f="${CPU[haproxy]}" 'BEGIN {
  if (b > 0) printf "CPU sluice/haproxy: full handshake %.2fx", a / b
  if (d > 0) printf ", resumption %.2fx", c / d
  if (f > 0) printf ", https keep-alive request %.2fx", e / f
  print "" }'
