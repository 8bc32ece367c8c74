#!/usr/bin/env bash
# What observability costs sluice, measured on this machine in one run: the same sluice
# binary (workers: 1) in front of the same loopback nginx backend, under the same wrk load,
# in two configurations, alternated for --rounds rounds to cancel machine drift:
#   on   admin listener scraped every --scrape-interval (GET /metrics, like Prometheus)
#        + JSON access log to a file with sample: 1.0 (every request)
#   off  no admin listener, no access log (the metric counters still count: they cannot
#        be turned off, so "off" is the floor sluice can reach, not a build without them)
# --configs off,on,log,admin adds the two halves of "on" (access log only; admin + scraper
# only) to tell which one costs what. --mode http (default): L7 with keep-alive on both
# sides; --mode tcp: L4 relay (one access log line per connection). --close adds
# "Connection: close" to wrk's requests: every request is a new client connection.
#
# Prints per round and per configuration requests/s, p99 latency and sluice's CPU time per
# request (utime+stime of the whole process: workers, control thread, log writer), the log
# lines written/dropped and scrapes served, then each configuration's ratios to "off".
# The target is <= 5%.
#
# usage: bench/e2e/observability.sh [--mode http|tcp] [--sluice PATH] [--rounds 3]
#          [--configs off,on] [--threads N] [--connections N] [--duration 10s]
#          [--warmup 2s] [--scrape-interval 1] [--close] [--keep]
set -euo pipefail

MODE=http
THREADS=1
CONNECTIONS=64
DURATION=10s
WARMUP=2s
ROUNDS=3
SCRAPE_INTERVAL=1
CLOSE=0
CONFIGS=off,on
SLUICE=""
KEEP=0

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE="$2"; shift 2 ;;
    --sluice) SLUICE="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --configs) CONFIGS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --scrape-interval) SCRAPE_INTERVAL="$2"; shift 2 ;;
    --close) CLOSE=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 >&2 ;;
  esac
done
case "$MODE" in tcp|http) ;; *) echo "--mode is tcp or http" >&2; exit 2 ;; esac
IFS=, read -r -a CONFIG_LIST <<<"$CONFIGS"
for config in "${CONFIG_LIST[@]}"; do
  case "$config" in off|on|log|admin) ;; *) echo "--configs: off, on, log, admin" >&2; exit 2 ;; esac
done
case ",$CONFIGS," in *,off,*) ;; *) echo "--configs needs off (the baseline)" >&2; exit 2 ;; esac

# shellcheck source=bench/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup wrk
[ "$CLOSE" = 1 ] && WRK_EXTRA=(-H "Connection: close")
ensure_sluice
start_backend

# GET PATH from the admin on PORT; the body on stdout. bash's /dev/tcp, so the scraper costs
# one bash process and no curl (the admin answers one request per connection).
admin_get() (
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&3
  sed '1,/^\r$/d' <&3
)

# The value of an unlabelled metric in a scrape on stdin.
metric_value() { awk -v m="$1" '$1 == m { printf "%.0f", $2 }'; }

has_admin() { [ "$1" = on ] || [ "$1" = admin ]; }
has_log() { [ "$1" = on ] || [ "$1" = log ]; }

# write_config off|on|log|admin PORT ADMIN_PORT
write_config() {
  local config="$1" port="$2" admin="$3"
  {
    echo "workers: 1"
    if has_admin "$config"; then echo "admin: { listen: 127.0.0.1:$admin }"; fi
    if has_log "$config"; then
      echo "log: { level: warn, access: { path: $WORK/access.log, format: json, sample: 1.0 } }"
    else
      echo "log: { level: warn }"
    fi
    sluice_proxy_yaml "$port"
  } >"$WORK/sluice-$config.yaml"
}

declare -A LINES DROPPED SCRAPES LOAD

# run_config CONFIG ROUND: a fresh sluice, measured, with the scraper if it has an admin.
run_config() {
  local config="$1" round="$2" name="$1.$2" port admin pid scraper="" final
  port="$(free_port)"
  admin="$(free_port)"
  write_config "$config" "$port" "$admin"
  rm -f "$WORK/access.log" "$WORK/scrapes"
  "$SLUICE" --config "$WORK/sluice-$config.yaml" >"$WORK/sluice-$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  LINES[$name]="-"; DROPPED[$name]="-"; SCRAPES[$name]="-"
  if has_admin "$config"; then
    wait_port "$admin"
    # Prometheus-like: one GET /metrics per interval, for as long as the load runs.
    (
      while true; do
        admin_get "$admin" /metrics >/dev/null 2>&1 && echo >>"$WORK/scrapes"
        sleep "$SCRAPE_INTERVAL"
      done
    ) &
    scraper=$!
    PIDS+=("$scraper")
  fi
  measure "$name" "$port" "$pid" || { kill "$pid" 2>/dev/null; return 1; }
  LOAD[$name]="$(cut -d' ' -f1 /proc/loadavg)"  # high next to its neighbours: a noisy run
  if [ -n "$scraper" ]; then
    kill "$scraper" 2>/dev/null || true
    wait "$scraper" 2>/dev/null || true
    SCRAPES[$name]="$(wc -l <"$WORK/scrapes" 2>/dev/null || echo 0)"
    if has_log "$config"; then
      final="$(admin_get "$admin" /metrics 2>/dev/null || true)"
      LINES[$name]="$(metric_value sluice_access_log_lines_total <<<"$final")"
      DROPPED[$name]="$(metric_value sluice_access_log_dropped_total <<<"$final")"
    fi
  elif has_log "$config"; then
    LINES[$name]="$(wc -l <"$WORK/access.log" 2>/dev/null || echo 0)"  # no admin to ask
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$WORK/access.log"  # ~300 bytes a request: do not let rounds pile up in /tmp
}

echo "sluice $("$SLUICE" --version 2>&1 | head -1) ($SLUICE)" >&2
echo "mode $MODE$([ "$CLOSE" = 1 ] && echo ", Connection: close"), wrk -t$THREADS -c$CONNECTIONS" \
  "-d$DURATION (warm-up $WARMUP), $ROUNDS rounds, scrape every ${SCRAPE_INTERVAL}s," \
  "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); backend nginx :$BACKEND_PORT" >&2
for round in $(seq 1 "$ROUNDS"); do
  # Alternate the order (forward, then backward), so a drift in the machine's load (another
  # build starting) does not always land on the same configuration.
  order=("${CONFIG_LIST[@]}")
  if [ $((round % 2)) = 0 ]; then
    order=(); for ((i = ${#CONFIG_LIST[@]} - 1; i >= 0; i--)); do order+=("${CONFIG_LIST[i]}"); done
  fi
  for config in "${order[@]}"; do run_config "$config" "$round"; done
done

echo >&2
printf '%-10s %12s %10s %14s %8s %10s %8s %8s %6s\n' run "requests/s" "p99 ms" "CPU us/req" errors \
  "log lines" dropped scrapes load
for round in $(seq 1 "$ROUNDS"); do
  for config in "${CONFIG_LIST[@]}"; do
    name="$config.$round"
    printf '%-10s %12s %10s %14s %8s %10s %8s %8s %6s\n' "$name" "${RPS[$name]:-?}" \
      "${P99[$name]:-?}" "${CPU[$name]:-?}" "${ERR[$name]:-?}" "${LINES[$name]:-?}" \
      "${DROPPED[$name]:-?}" "${SCRAPES[$name]:-?}" "${LOAD[$name]:-?}"
  done
done

# Means per configuration; each configuration's ratios to "off": per round (the two runs of a
# round are neighbours in time, so they share the machine's state), of the means, and the
# median of the rounds' ratios (one disturbed round moves it least).
{
  for round in $(seq 1 "$ROUNDS"); do
    for config in "${CONFIG_LIST[@]}"; do
      name="$config.$round"
      echo "$config $round ${RPS[$name]:-0} ${P99[$name]:-0} ${CPU[$name]:-0}"
    done
  done
} | awk -v configs="$CONFIGS" '
  { rps[$1] += $3; p99[$1] += $4; cpu[$1] += $5; n[$1]++
    r[$1, $2] = $3; l[$1, $2] = $4; c[$1, $2] = $5; if ($2 > rounds) rounds = $2 }
  END {
    k = split(configs, list, ",")
    print ""
    for (j = 1; j <= k; j++) {
      x = list[j]
      printf "%-10s %12.0f %10.3f %14.2f\n", "mean " x, rps[x] / n[x], p99[x] / n[x], cpu[x] / n[x]
    }
    for (j = 1; j <= k; j++) {
      x = list[j]
      if (x == "off") continue
      printf "\n%-17s %10s %6s %8s\n", x "/off ratio", "requests/s", "p99", "CPU/req"
      for (i = 1; i <= rounds; i++)
        if (r["off", i] > 0 && l["off", i] > 0 && c["off", i] > 0)
          printf "round %-11d %10.3f %6.3f %8.3f\n", i, r[x, i] / r["off", i], l[x, i] / l["off", i], c[x, i] / c["off", i]
      if (rps["off"] > 0 && p99["off"] > 0 && cpu["off"] > 0)
        printf "%-17s %10.3f %6.3f %8.3f\n", "of the means", rps[x] / rps["off"], p99[x] / p99["off"], cpu[x] / cpu["off"]
      m = 0
      for (i = 1; i <= rounds; i++)
        if (r["off", i] > 0 && l["off", i] > 0 && c["off", i] > 0) {
          m++; rr[m] = r[x, i] / r["off", i]; lr[m] = l[x, i] / l["off", i]; cr[m] = c[x, i] / c["off", i]
        }
      if (m > 0)
        printf "%-17s %10.3f %6.3f %8.3f   (target: within 5%%)\n", "median of rounds", median(rr, m), median(lr, m), median(cr, m)
    }
  }
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }'
