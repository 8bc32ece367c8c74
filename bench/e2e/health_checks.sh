#!/usr/bin/env bash
# What active health checks cost the control thread (issue #11): one sluice (workers: 1)
# checking N endpoints (127.0.X.Y on one nginx port, nginx listening on all addresses) with
# an HTTP check every INTERVAL, no traffic. Measures the control thread's CPU (the main
# thread: utime+stime of /proc/PID/task/PID) over --duration seconds after a warm-up, and the
# probes made meanwhile (sluice_health_checks_total), so CPU per probe too.
#   bench/e2e/health_checks.sh [--sluice PATH] [--endpoints 1000] [--interval 5s] [--duration 30]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

ENDPOINTS=1000 INTERVAL=5s SECONDS_RUN=30 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sluice) SLUICE="$2"; shift 2 ;;
    --endpoints) ENDPOINTS="$2"; shift 2 ;;
    --interval) INTERVAL="$2"; shift 2 ;;
    --duration) SECONDS_RUN="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n 2,7p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bench_setup curl
ensure_sluice

BACKEND_PORT="$(free_port)"
nginx_dirs "$WORK/backend"
cat >"$WORK/backend/nginx.conf" <<NGINX
$NGINX_COMMON
pid $WORK/backend/nginx.pid;
error_log $WORK/backend/logs/error.log warn;
http {
  access_log off;
  client_body_temp_path $WORK/backend/tmp/body;
  proxy_temp_path $WORK/backend/tmp/proxy;
  fastcgi_temp_path $WORK/backend/tmp/fastcgi;
  uwsgi_temp_path $WORK/backend/tmp/uwsgi;
  scgi_temp_path $WORK/backend/tmp/scgi;
  # Every 127.X.Y.Z reaches this one server: each endpoint is a distinct check target.
  server { listen $BACKEND_PORT; location / { return 200 "ok\n"; } }
}
NGINX
nginx -p "$WORK/backend" -c "$WORK/backend/nginx.conf" -e "$WORK/backend/logs/error.log" \
  >"$WORK/backend/out.log" 2>&1 &
PIDS+=($!)
wait_port "$BACKEND_PORT"

PORT="$(free_port)" ADMIN="$(free_port)"
{
  cat <<YAML
workers: 1
log: { level: warn }
admin: { listen: 127.0.0.1:$ADMIN }
listeners:
  - { name: web, listen: 127.0.0.1:$PORT, protocol: tcp, cluster: c }
clusters:
  - name: c
    health_check: { http: { path: / }, interval: $INTERVAL, timeout: 1s }
    endpoints:
YAML
  for i in $(seq 0 $((ENDPOINTS - 1))); do
    echo "      - { address: 127.0.$((i / 250)).$((i % 250 + 1)):$BACKEND_PORT }"
  done
} >"$WORK/sluice.yaml"
"$SLUICE" --config "$WORK/sluice.yaml" >"$WORK/sluice.log" 2>&1 &
SLUICE_PID=$!
PIDS+=("$SLUICE_PID")
wait_port "$PORT"

thread_ticks() { awk '{ print $14 + $15 }' "/proc/$SLUICE_PID/task/$SLUICE_PID/stat"; }
probes() {
  curl -s "127.0.0.1:$ADMIN/metrics" |
    awk '/^sluice_health_checks_total/ { n += $2 } END { print n + 0 }'
}
sleep 6  # every endpoint had its first probe (within 1 s) and the steady rhythm started
t0="$(thread_ticks)" p0="$(probes)" all0="$(cpu_ticks "$SLUICE_PID")"
sleep "$SECONDS_RUN"
t1="$(thread_ticks)" p1="$(probes)" all1="$(cpu_ticks "$SLUICE_PID")"
failed="$(curl -s "127.0.0.1:$ADMIN/metrics" |
  awk '/^sluice_health_checks_total/ && !/outcome="ok"/ { n += $2 } END { print n + 0 }')"
awk -v t=$((t1 - t0)) -v all=$((all1 - all0)) -v p=$((p1 - p0)) -v s="$SECONDS_RUN" \
    -v hz="$CLK_TCK" -v n="$ENDPOINTS" -v i="$INTERVAL" -v f="$failed" 'BEGIN {
  printf "%d endpoints, HTTP check every %s, %d s: %d probes (%.0f/s), %d failed in all\n",
         n, i, s, p, p / s, f
  printf "control thread: %.2f%% of a core, %.1f us per probe; whole process: %.2f%%\n",
         100 * t / hz / s, (p > 0 ? t * 1e6 / hz / p : 0), 100 * all / hz / s
}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
