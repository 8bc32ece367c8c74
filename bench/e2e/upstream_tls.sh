#!/usr/bin/env bash
# TLS to the upstream, sluice next to HAProxy in one run, both single-threaded (sluice workers: 1,
# HAProxy nbthread 1): plain HTTP keep-alive from wrk to the proxy, TLS 1.3 keep-alive from the
# proxy to one nginx worker serving an ECDSA P-256 certificate made for the run (the proxy checks
# it against the run's CA and the name backend.test: HAProxy `ssl verify required ca-file`).
# Prints requests/s and each proxy's CPU time per request (utime+stime of its process), and the
# sluice/HAProxy CPU ratio; `--plain` also runs both against a plaintext nginx for the TLS share.
#
# usage: bench/e2e/upstream_tls.sh [--sluice PATH] [--duration 10s] [--connections 64]
#                                   [--plain] [--keep]
set -euo pipefail

THREADS=1
CONNECTIONS=64
DURATION=10s
WARMUP=2s
SLUICE=""
KEEP=0
PLAIN=0
MODE=http
while [ $# -gt 0 ]; do
  case "$1" in
    --sluice) SLUICE="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --plain) PLAIN=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup haproxy openssl
ensure_sluice
start_backend  # plaintext, for --plain

# A CA and the backend's certificate for backend.test.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -subj /CN=bench-ca >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$WORK/backend.key" -out "$WORK/backend.csr" -subj /CN=backend.test >/dev/null 2>&1
printf 'subjectAltName=DNS:backend.test\n' >"$WORK/san.ext"
openssl x509 -req -in "$WORK/backend.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
  -CAcreateserial -days 1 -extfile "$WORK/san.ext" -out "$WORK/backend.pem" >/dev/null 2>&1

TLS_PORT="$(free_port)"
nginx_dirs "$WORK/tls"
cat >"$WORK/tls/nginx.conf" <<NGINX
$NGINX_COMMON
pid $WORK/tls/nginx.pid;
error_log $WORK/tls/logs/error.log warn;
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path $WORK/tls/tmp/body;
  proxy_temp_path $WORK/tls/tmp/proxy;
  fastcgi_temp_path $WORK/tls/tmp/fastcgi;
  uwsgi_temp_path $WORK/tls/tmp/uwsgi;
  scgi_temp_path $WORK/tls/tmp/scgi;
  server {
    listen 127.0.0.1:$TLS_PORT ssl;
    ssl_certificate $WORK/backend.pem;
    ssl_certificate_key $WORK/backend.key;
    ssl_protocols TLSv1.3;
    location / { return 200 "ok\n"; }
  }
}
NGINX
nginx -p "$WORK/tls" -c "$WORK/tls/nginx.conf" -e "$WORK/tls/logs/error.log" \
  >"$WORK/tls/out.log" 2>&1 &
PIDS+=($!)
wait_port "$TLS_PORT"

# start_proxies KIND: sluice and HAProxy in front of the TLS backend (tls) or the plain one.
start_proxies() {
  local kind="$1" sluice_tls="" haproxy_tls="" port="$BACKEND_PORT"
  if [ "$kind" = tls ]; then
    port="$TLS_PORT"
    sluice_tls="    tls: { sni: backend.test, ca: $WORK/ca.pem }"
    haproxy_tls="ssl verify required ca-file $WORK/ca.pem sni str(backend.test) verifyhost backend.test alpn http/1.1"
  fi
  SLUICE_PORT="$(free_port)"
  cat >"$WORK/sluice-$kind.yaml" <<YAML
workers: 1
log: { level: warn }
listeners:
  - name: bench
    listen: 127.0.0.1:$SLUICE_PORT
    protocol: http
    routes:
      - { match: { path_prefix: / }, cluster: backend }
    timeouts: { connect: 1s, idle: 60s }
clusters:
  - name: backend
    endpoints: [ { address: 127.0.0.1:$port } ]
$sluice_tls
YAML
  "$SLUICE" --config "$WORK/sluice-$kind.yaml" >"$WORK/sluice-$kind.log" 2>&1 &
  SLUICE_PID=$!
  PIDS+=("$SLUICE_PID")
  HAPROXY_PORT="$(free_port)"
  cat >"$WORK/haproxy-$kind.cfg" <<CFG
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  http-reuse always
  timeout connect 1s
  timeout client 60s
  timeout server 60s
listen bench
  bind 127.0.0.1:$HAPROXY_PORT
  server backend 127.0.0.1:$port $haproxy_tls
CFG
  haproxy -f "$WORK/haproxy-$kind.cfg" -db >"$WORK/haproxy-$kind.log" 2>&1 &
  HAPROXY_PID=$!
  PIDS+=("$HAPROXY_PID")
  wait_port "$SLUICE_PORT"
  wait_port "$HAPROXY_PORT"
}

KINDS=(tls)
[ "$PLAIN" = 1 ] && KINDS+=(plain)
for kind in "${KINDS[@]}"; do
  echo "$kind upstream:" >&2
  start_proxies "$kind"
  measure "sluice-$kind" "$SLUICE_PORT" "$SLUICE_PID"
  measure "haproxy-$kind" "$HAPROXY_PORT" "$HAPROXY_PID"
  kill "$SLUICE_PID" "$HAPROXY_PID" 2>/dev/null || true
  wait "$SLUICE_PID" "$HAPROXY_PID" 2>/dev/null || true
done

printf '\n%-14s %10s %9s %12s %8s\n' proxy "req/s" "p99 ms" "us CPU/req" errors
for kind in "${KINDS[@]}"; do
  for name in "sluice-$kind" "haproxy-$kind"; do
    printf '%-14s %10s %9s %12s %8s\n' "$name" "${RPS[$name]}" "${P99[$name]}" "${CPU[$name]}" \
      "${ERR[$name]}"
  done
done
for kind in "${KINDS[@]}"; do
  awk -v a="${CPU[sluice-$kind]}" -v b="${CPU[haproxy-$kind]}" -v k="$kind" \
    'BEGIN { if (b > 0) printf "CPU per request sluice/haproxy, %s upstream: %.2fx\n", k, a / b }'
done
