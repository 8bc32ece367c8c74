#!/usr/bin/env bash
# Side-by-side comparison on this machine, in one run: sluice, HAProxy
# (nbthread 1) and nginx (worker_processes 1), each a single worker in front of
# the same loopback nginx HTTP backend, each driven by the same wrk load through
# the proxy, plus a direct (no proxy) baseline. --mode tcp (default): L4 proxies
# (HAProxy mode tcp, nginx stream). --mode http: L7 reverse proxies with
# keep-alive to the backend (HAProxy mode http, nginx proxy_pass + keepalive).
#
# Prints requests/s, p99 latency and each proxy's CPU time per request
# (utime+stime deltas from /proc/PID/stat, whole process tree, all threads).
# One run on one box: the ratios mean more than the absolute numbers.
#
# --baseline PATH adds a row for another sluice binary (e.g. one built before a change)
# with the same config, and prints its CPU per request next to sluice's, same run.
#
# usage: bench/e2e/compare.sh [--mode tcp|http] [--sluice PATH] [--baseline PATH] [--no-sluice]
#          [--threads N] [--connections N] [--duration 10s] [--warmup 2s] [--only LIST] [--keep]
set -euo pipefail

MODE=tcp
THREADS=1
CONNECTIONS=64
DURATION=10s
WARMUP=2s
SLUICE=""
BASELINE=""
RUN_SLUICE=1
ONLY="direct,sluice,haproxy,nginx"
KEEP=0

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE="$2"; shift 2 ;;
    --sluice) SLUICE="$2"; shift 2 ;;
    --baseline) BASELINE="$2"; shift 2 ;;
    --no-sluice) RUN_SLUICE=0; shift ;;
    --threads) THREADS="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 >&2 ;;
  esac
done
[ "$RUN_SLUICE" = 1 ] || ONLY="${ONLY//sluice/}"
[ -z "$BASELINE" ] || ONLY="$ONLY,baseline"
case "$MODE" in tcp|http) ;; *) echo "--mode is tcp or http" >&2; exit 2 ;; esac

# shellcheck source=bench/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup haproxy
STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
[ -f "$STREAM_MODULE" ] || { echo "missing $STREAM_MODULE (libnginx-mod-stream)" >&2; exit 1; }

start_backend

# --- proxies -------------------------------------------------------------------
start_sluice() {
  local port="$1"
  ensure_sluice || return 1
  cat >"$WORK/sluice.yaml" <<EOF
workers: 1
log: { level: warn }
EOF
  sluice_proxy_yaml "$port" >>"$WORK/sluice.yaml"
  "$SLUICE" --config "$WORK/sluice.yaml" >"$WORK/sluice.log" 2>&1 &
}

start_baseline() {
  local port="$1"
  [ -x "$BASELINE" ] || { echo "--baseline $BASELINE: not an executable" >&2; return 1; }
  cat >"$WORK/baseline.yaml" <<EOF
workers: 1
log: { level: warn }
EOF
  sluice_proxy_yaml "$port" >>"$WORK/baseline.yaml"
  "$BASELINE" --config "$WORK/baseline.yaml" >"$WORK/baseline.log" 2>&1 &
}

start_haproxy() {
  local port="$1"
  cat >"$WORK/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode $MODE
  $([ "$MODE" = http ] && echo "http-reuse always")
  timeout connect 1s
  timeout client 60s
  timeout server 60s
listen bench
  bind 127.0.0.1:$port
  server backend 127.0.0.1:$BACKEND_PORT
EOF
  haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
}

start_nginx() {
  local port="$1"
  nginx_dirs "$WORK/nginx"
  if [ "$MODE" = http ]; then
    cat >"$WORK/nginx/nginx.conf" <<EOF
$NGINX_COMMON
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
http {
  access_log off;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  else
    cat >"$WORK/nginx/nginx.conf" <<EOF
load_module $STREAM_MODULE;
$NGINX_COMMON
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
stream {
  upstream backend { server 127.0.0.1:$BACKEND_PORT; }
  server {
    listen 127.0.0.1:$port;
    proxy_pass backend;
    proxy_timeout 60s;
  }
}
EOF
  fi
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" \
    >"$WORK/nginx/out.log" 2>&1 &
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP) on $(nproc) cores; backend nginx :$BACKEND_PORT" >&2
ROWS=()
for name in direct sluice baseline haproxy nginx; do
  case ",$ONLY," in *",$name,"*) ;; *) continue ;; esac
  if [ "$name" = direct ]; then
    measure direct "$BACKEND_PORT"
    ROWS+=(direct)
    continue
  fi
  port="$(free_port)"
  if ! "start_$name" "$port"; then
    echo "  $name: could not be started" >&2
    continue
  fi
  pid=$!
  PIDS+=("$pid")
  if measure "$name" "$port" "$pid"; then ROWS+=("$name"); else echo "  $name: did not come up" >&2; fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done

echo >&2
printf '%-8s %12s %10s %14s %8s\n' proxy "requests/s" "p99 ms" "CPU us/req" errors
for name in "${ROWS[@]}"; do
  printf '%-8s %12s %10s %14s %8s\n' "$name" "${RPS[$name]}" "${P99[$name]}" "${CPU[$name]}" "${ERR[$name]}"
done
if [ -n "${CPU[sluice]:-}" ] && [ -n "${CPU[baseline]:-}" ] && [ "${CPU[baseline]}" != "-" ]; then
  awk -v s="${CPU[sluice]}" -v b="${CPU[baseline]}" \
    'BEGIN { if (b > 0) printf "\nCPU per request, sluice / baseline: %.3f\n", s / b }'
fi
if [ -n "${CPU[sluice]:-}" ] && [ -n "${CPU[haproxy]:-}" ] && [ "${CPU[haproxy]}" != "-" ]; then
  awk -v s="${CPU[sluice]}" -v h="${CPU[haproxy]}" \
    'BEGIN { if (h > 0) printf "\nCPU per request, sluice / HAProxy: %.2f\n", s / h }'
fi
