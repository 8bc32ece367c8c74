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
# usage: bench/e2e/compare.sh [--mode tcp|http] [--sluice PATH] [--no-sluice] [--threads N]
#          [--connections N] [--duration 10s] [--warmup 2s] [--only LIST] [--keep]
set -euo pipefail

MODE=tcp
THREADS=1
CONNECTIONS=64
DURATION=10s
WARMUP=2s
SLUICE=""
RUN_SLUICE=1
ONLY="direct,sluice,haproxy,nginx"
KEEP=0

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE="$2"; shift 2 ;;
    --sluice) SLUICE="$2"; shift 2 ;;
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
case "$MODE" in tcp|http) ;; *) echo "--mode is tcp or http" >&2; exit 2 ;; esac

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
for tool in wrk haproxy nginx python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (scripts/install-deps.sh)" >&2; exit 1; }
done
STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
[ -f "$STREAM_MODULE" ] || { echo "missing $STREAM_MODULE (libnginx-mod-stream)" >&2; exit 1; }

WORK="$(mktemp -d /tmp/sluice-bench-XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# A port that was free a moment ago.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  local port="$1" i
  for i in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listening on port $port" >&2
  return 1
}

# utime+stime in clock ticks of PID and its children (nginx master + worker).
cpu_ticks() {
  local root="$1" total=0 stat pid ppid rest
  for stat in /proc/[0-9]*/stat; do
    pid="${stat#/proc/}"; pid="${pid%/stat}"
    # Fields after the ")" of comm: state ppid ... utime(12th) stime(13th).
    read -r rest 2>/dev/null <"$stat" || continue  # a builtin: no fork per process
    rest="${rest##*) }"
    read -r _ ppid _ _ _ _ _ _ _ _ _ utime stime _ <<<"$rest"
    if [ "$pid" = "$root" ] || [ "$ppid" = "$root" ]; then total=$((total + utime + stime)); fi
  done
  echo "$total"
}

NGINX_COMMON='daemon off;
worker_processes 1;
events { worker_connections 8192; }'

nginx_dirs() { mkdir -p "$1/logs" "$1/tmp"; }

# --- the backend every proxy sits in front of --------------------------------
BACKEND_PORT="$(free_port)"
nginx_dirs "$WORK/backend"
cat >"$WORK/backend/nginx.conf" <<EOF
$NGINX_COMMON
pid $WORK/backend/nginx.pid;
error_log $WORK/backend/logs/error.log warn;
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path $WORK/backend/tmp/body;
  proxy_temp_path $WORK/backend/tmp/proxy;
  fastcgi_temp_path $WORK/backend/tmp/fastcgi;
  uwsgi_temp_path $WORK/backend/tmp/uwsgi;
  scgi_temp_path $WORK/backend/tmp/scgi;
  server {
    listen 127.0.0.1:$BACKEND_PORT;
    location / { return 200 "ok\n"; }
  }
}
EOF
nginx -p "$WORK/backend" -c "$WORK/backend/nginx.conf" -e "$WORK/backend/logs/error.log" \
  >"$WORK/backend/out.log" 2>&1 &
PIDS+=($!)
wait_port "$BACKEND_PORT"

# --- proxies -------------------------------------------------------------------
start_sluice() {
  local port="$1"
  if [ -z "$SLUICE" ]; then
    echo "building sluice (Release) in $ROOT/build-bench ..." >&2
    if ! { cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF &&
           cmake --build "$ROOT/build-bench" --target sluice -j "$(nproc)"; } >"$WORK/build.log" 2>&1; then
      tail -30 "$WORK/build.log" >&2
      echo "building sluice failed (whole log: $WORK/build.log with --keep)" >&2
      return 1
    fi
    SLUICE="$ROOT/build-bench/proxy/sluice"
  fi
  cat >"$WORK/sluice.yaml" <<EOF
workers: 1
log: { level: warn }
listeners:
  - name: bench
    listen: 127.0.0.1:$port
$(if [ "$MODE" = tcp ]; then
    printf '    protocol: tcp\n    cluster: backend\n'
  else
    printf '    protocol: http\n    routes:\n      - { match: { path_prefix: / }, cluster: backend }\n'
  fi)
    timeouts: { connect: 1s, idle: 60s }
clusters:
  - name: backend
    balancer: { type: round_robin }
    endpoints: [ { address: 127.0.0.1:$BACKEND_PORT } ]
EOF
  "$SLUICE" --config "$WORK/sluice.yaml" >"$WORK/sluice.log" 2>&1 &
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

# "1.23ms" / "850.00us" / "1.02s" -> milliseconds
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else print "?" }'
}

CLK_TCK="$(getconf CLK_TCK)"
declare -A RPS P99 CPU ERR

# run_one NAME PORT PID: wrk through PORT; CPU of PID's tree (no PID: no CPU column).
run_one() {
  local name="$1" port="$2" pid="${3:-}" before after out requests errors
  wait_port "$port" || return 1
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
  [ -n "$pid" ] && before="$(cpu_ticks "$pid")"
  out="$WORK/wrk-$name.txt"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port/" >"$out" 2>&1
  [ -n "$pid" ] && after="$(cpu_ticks "$pid")"
  requests="$(awk '/requests in/ { print $1 }' "$out")"
  RPS[$name]="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")"
  P99[$name]="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
  errors="$(awk '/Socket errors/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
                /Non-2xx/ { n += $NF } END { print n + 0 }' "$out")"
  ERR[$name]="$errors"
  if [ -n "$pid" ] && [ "${requests:-0}" -gt 0 ]; then
    CPU[$name]="$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" \
      'BEGIN { printf "%.2f", t * 1e6 / hz / n }')"
  else
    CPU[$name]="-"
  fi
  echo "  $name: ${RPS[$name]} req/s, p99 ${P99[$name]} ms, ${CPU[$name]} us CPU/req" >&2
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP) on $(nproc) cores; backend nginx :$BACKEND_PORT" >&2
ROWS=()
for name in direct sluice haproxy nginx; do
  case ",$ONLY," in *",$name,"*) ;; *) continue ;; esac
  if [ "$name" = direct ]; then
    run_one direct "$BACKEND_PORT"
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
  if run_one "$name" "$port" "$pid"; then ROWS+=("$name"); else echo "  $name: did not come up" >&2; fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done

echo >&2
printf '%-8s %12s %10s %14s %8s\n' proxy "requests/s" "p99 ms" "CPU us/req" errors
for name in "${ROWS[@]}"; do
  printf '%-8s %12s %10s %14s %8s\n' "$name" "${RPS[$name]}" "${P99[$name]}" "${CPU[$name]}" "${ERR[$name]}"
done
if [ -n "${CPU[sluice]:-}" ] && [ -n "${CPU[haproxy]:-}" ] && [ "${CPU[haproxy]}" != "-" ]; then
  awk -v s="${CPU[sluice]}" -v h="${CPU[haproxy]}" \
    'BEGIN { if (h > 0) printf "\nCPU per request, sluice / HAProxy: %.2f\n", s / h }'
fi
