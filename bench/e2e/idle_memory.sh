#!/usr/bin/env bash
# Memory an idle connection costs each proxy: sluice, HAProxy (nbthread 1) and
# nginx (worker_processes 1) in front of the same loopback backend, in one run.
# For each, opens N1 keep-alive connections (one request each, then idle),
# reads the proxy's RSS (whole process tree), opens up to N2 and reads it
# again: the marginal cost per idle connection is the difference divided by
# N2 - N1, so one-time pools (sluice's receive buffers, nginx's connection
# array) do not count. --mode tcp measures idle L4 relays instead; --mode https
# idle HTTPS keep-alive connections (TLS 1.3, one ECDSA P-256 certificate made for
# the run, the same for the three proxies), so what TLS adds is the difference to
# --mode http.
#
# Each connection costs a descriptor in the client and in the proxy (and one
# more upstream for tcp): N2 must fit the hard RLIMIT_NOFILE of both. HAProxy counts
# two descriptors per maxconn (N2 + 400) and refuses to start past the hard limit: with
# the usual 20000, N2 up to 9500.
#
# usage: bench/e2e/idle_memory.sh [--mode http|https|tcp] [--n1 2000] [--n2 9000] [--sluice PATH]
#          [--only sluice,haproxy,nginx] [--keep]
set -euo pipefail

MODE=http
N1=2000
N2=9000
SLUICE=""
ONLY="sluice,haproxy,nginx"
KEEP=0
THREADS=1 CONNECTIONS=1 DURATION=1s WARMUP=1s  # lib.sh knobs (unused here)
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE="$2"; shift 2 ;;
    --n1) N1="$2"; shift 2 ;;
    --n2) N2="$2"; shift 2 ;;
    --sluice) SLUICE="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 >&2 ;;
  esac
done
case "$MODE" in tcp|http|https) ;; *) echo "--mode is tcp, http or https" >&2; exit 2 ;; esac
# What the proxies speak upstream and how they are configured: https is http with TLS in front.
PROXY_MODE="${MODE/https/http}"
hard="$(ulimit -Hn)"
if [ "$N2" -ge $((hard - 100)) ] || [ "$N1" -ge "$N2" ]; then
  echo "need N1 < N2 < the hard descriptor limit ($hard) minus a margin" >&2
  exit 2
fi
ulimit -n "$hard"

# shellcheck source=bench/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup haproxy
STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
start_backend
if [ "$MODE" = https ]; then make_bench_cert; fi

# RSS in KiB of PID and its children.
tree_rss() {
  local root="$1" total=0 status pid ppid rss
  for status in /proc/[0-9]*/status; do
    pid="${status#/proc/}"; pid="${pid%/status}"
    ppid="$(awk '/^PPid:/ { print $2 }' "$status" 2>/dev/null)" || continue
    if [ "$pid" = "$root" ] || [ "$ppid" = "$root" ]; then
      rss="$(awk '/^VmRSS:/ { print $2 }' "$status" 2>/dev/null)"
      total=$((total + ${rss:-0}))
    fi
  done
  echo "$total"
}

# The client: opens connections from many loopback source addresses (so the
# ephemeral ports never run out), one request each (http) or one echo (tcp),
# and holds them. Prints "ready N" after each batch and waits for a line on stdin.
cat >"$WORK/client.py" <<'PY'
import socket, ssl, sys, resource
tls, port, targets = sys.argv[1] == "https", int(sys.argv[2]), [int(x) for x in sys.argv[3:]]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.minimum_version = ssl.TLSVersion.TLSv1_3
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
for target in targets:
    while len(socks) < target:
        i = len(socks)
        s = socket.socket()
        s.bind((f"127.0.{1 + i // 20000}.{1 + (i // 100) % 250}", 0))
        s.connect(("127.0.0.1", port))
        if tls:
            s = context.wrap_socket(s)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(4096)
        socks.append(s)
    print("ready", len(socks), flush=True)
    sys.stdin.readline()
PY

measure_idle() {
  local name="$1" port="$2" pid="$3" r1 r2
  wait_port "$port" || return 1
  # The backend answers the one request each connection sends, through the
  # L7 proxy or the L4 relay alike.
  coproc CLIENT { python3 "$WORK/client.py" "$MODE" "$port" "$N1" "$N2"; }
  read -r _ _ <&"${CLIENT[0]}"; sleep 2; r1="$(tree_rss "$pid")"
  echo >&"${CLIENT[1]}"
  read -r _ _ <&"${CLIENT[0]}"; sleep 2; r2="$(tree_rss "$pid")"
  echo >&"${CLIENT[1]}"
  wait "$CLIENT_PID" 2>/dev/null || true
  IDLE[$name]="$(awk -v a="$r1" -v b="$r2" -v n=$((N2 - N1)) 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
  echo "  $name: RSS $r1 KiB at $N1, $r2 KiB at $N2: ${IDLE[$name]} B per idle connection" >&2
}

declare -A IDLE
echo "backend: $BACKEND_PORT; marginal RSS per idle $MODE connection between $N1 and $N2" >&2
for name in sluice haproxy nginx; do
  case ",$ONLY," in *",$name,"*) ;; *) continue ;; esac
  port="$(free_port)"
  case "$name" in
    sluice)
      ensure_sluice || continue
      { echo "workers: 1"; echo "log: { level: warn }"; sluice_proxy_yaml "$port"; } |
        sed 's/idle: 60s/idle: 600s/' |
        if [ "$MODE" = https ]; then
          sed "s|    protocol: http|    protocol: http\n    tls: { certificates: [ { cert: $WORK/cert.pem, key: $WORK/key.pem } ] }|"
        else cat; fi >"$WORK/sluice.yaml"
      "$SLUICE" --config "$WORK/sluice.yaml" >"$WORK/sluice.log" 2>&1 & ;;
    haproxy)
      cat >"$WORK/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn $((N2 + 400))
defaults
  mode $PROXY_MODE
  timeout connect 1s
  timeout client 600s
  timeout server 600s
  $([ "$PROXY_MODE" = http ] && echo "timeout http-keep-alive 600s")
listen bench
  bind 127.0.0.1:$port $([ "$MODE" = https ] && echo "ssl crt $WORK/haproxy.pem")
  server backend 127.0.0.1:$BACKEND_PORT
CFG
      haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 & ;;
    nginx)
      nginx_dirs "$WORK/nginx"
      if [ "$PROXY_MODE" = http ]; then
        ssl=""
        [ "$MODE" = https ] && ssl="ssl; ssl_protocols TLSv1.2 TLSv1.3;
  ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem"
        body="http { access_log off; keepalive_timeout 600s; keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }
  server { listen 127.0.0.1:$port $ssl; location / { proxy_pass http://backend;
    proxy_http_version 1.1; proxy_set_header Connection \"\"; } } }"
      else
        body="stream { upstream backend { server 127.0.0.1:$BACKEND_PORT; }
  server { listen 127.0.0.1:$port; proxy_pass backend; proxy_timeout 600s; } }"
      fi
      cat >"$WORK/nginx/nginx.conf" <<CFG
$([ "$MODE" = tcp ] && echo "load_module $STREAM_MODULE;")
daemon off;
worker_processes 1;
worker_rlimit_nofile $((N2 * 2 + 1000));
events { worker_connections $((N2 * 2 + 1000)); }
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
$body
CFG
      nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" \
        >"$WORK/nginx/out.log" 2>&1 & ;;
  esac
  pid=$!
  PIDS+=("$pid")
  measure_idle "$name" "$port" "$pid" || echo "  $name: did not come up" >&2
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done

echo >&2
printf '%-8s %22s\n' proxy "bytes per idle $MODE"
for name in sluice haproxy nginx; do
  [ -n "${IDLE[$name]:-}" ] && printf '%-8s %22s\n' "$name" "${IDLE[$name]}"
done
