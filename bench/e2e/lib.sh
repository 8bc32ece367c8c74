# shellcheck shell=bash disable=SC2034  # the result arrays are read by the scripts
# Helpers shared by the bench/e2e scripts; sourced, never run. The caller sets
# `set -euo pipefail` and the wrk knobs THREADS, CONNECTIONS, DURATION, WARMUP and KEEP
# (1: keep the scratch dir), then calls bench_setup.
#
#   bench_setup                scratch dir $WORK, $PIDS killed on exit, tools checked
#   free_port / wait_port P    loopback ports
#   cpu_ticks PID              utime+stime of PID and its children, in clock ticks
#   start_backend              nginx `return 200` backend on $BACKEND_PORT
#   ensure_sluice              $SLUICE, building a Release sluice in build-bench/ if unset
#   measure NAME PORT [PID]    wrk warm-up + run; RPS P99 CPU ERR REQS[NAME]
#   to_ms 1.2ms|850us|1.0s     milliseconds

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLK_TCK="$(getconf CLK_TCK)"
declare -A RPS P99 CPU ERR REQS
WRK_EXTRA=()  # extra wrk arguments, e.g. (-H "Connection: close")
PIDS=()

# Tools every script needs, plus the ones named as arguments.
bench_setup() {
  local tool
  for tool in wrk nginx python3 "$@"; do
    command -v "$tool" >/dev/null || { echo "missing: $tool (scripts/install-deps.sh)" >&2; exit 1; }
  done
  WORK="$(mktemp -d /tmp/sluice-bench-XXXXXX)"
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}

# A port that was free a moment ago.
free_port() {
  "$ROOT/scripts/free-ports"
}

wait_port() {
  local port="$1" _
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listening on port $port" >&2
  return 1
}

# utime+stime in clock ticks of PID and its children (nginx master + worker). A process's
# own utime/stime already include all its threads.
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

# A self-signed ECDSA P-256 certificate for CN=bench.test, the same for every proxy of a run:
# $WORK/cert.pem and key.pem, and haproxy.pem (both in one file, as `crt` wants them).
make_bench_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=bench.test >/dev/null 2>&1
  cat "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/haproxy.pem"
}

# The backend every proxy sits in front of: one nginx worker answering "ok".
start_backend() {
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
}

# The listener and cluster part of a sluice config: one listener on port $1
# (tcp or http by $MODE) in front of the backend. Callers add the globals.
sluice_proxy_yaml() {
  local port="$1"
  cat <<EOF
listeners:
  - name: bench
    listen: 127.0.0.1:$port
$(if [ "$MODE" = tcp ]; then
    printf '    protocol: tcp\n    cluster: backend\n'
  else
    printf '    protocol: http\n    routes:\n      - { name: all, match: { path_prefix: / }, cluster: backend }\n'
  fi)
    timeouts: { connect: 1s, idle: 60s }
clusters:
  - name: backend
    balancer: { type: round_robin }
    endpoints: [ { address: 127.0.0.1:$BACKEND_PORT } ]
EOF
}

# Sets SLUICE to a Release build of the sluice binary unless it is already set.
ensure_sluice() {
  [ -n "${SLUICE:-}" ] && return 0
  echo "building sluice (Release) in $ROOT/build-bench ..." >&2
  if ! { cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=OFF &&
         cmake --build "$ROOT/build-bench" --target sluice -j "$(nproc)"; } >"$WORK/build.log" 2>&1; then
    tail -30 "$WORK/build.log" >&2
    echo "building sluice failed (whole log: $WORK/build.log with --keep)" >&2
    return 1
  fi
  SLUICE="$ROOT/build-bench/proxy/sluice"
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

# measure NAME PORT [PID]: wrk through PORT (warm-up, then the measured run); CPU of PID's
# tree during the measured run (no PID: no CPU column). Fills RPS P99 CPU ERR REQS[NAME].
measure() {
  local name="$1" port="$2" pid="${3:-}" before after out requests errors
  wait_port "$port" || return 1
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" ${WRK_EXTRA[@]+"${WRK_EXTRA[@]}"} \
    "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
  [ -n "$pid" ] && before="$(cpu_ticks "$pid")"
  out="$WORK/wrk-$name.txt"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency ${WRK_EXTRA[@]+"${WRK_EXTRA[@]}"} \
    "http://127.0.0.1:$port/" >"$out" 2>&1
  [ -n "$pid" ] && after="$(cpu_ticks "$pid")"
  requests="$(awk '/requests in/ { print $1 }' "$out")"
  REQS[$name]="${requests:-0}"
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
