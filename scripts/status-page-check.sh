#!/usr/bin/env bash
# The admin status page (GET /) as a browser renders it: starts sluice with an admin listener,
# a live backend and a dead one, sends some traffic, lets headless Chromium load the page, and
# checks the rendered DOM shows the clusters, the endpoints and their states and the request
# count. Also writes a screenshot (STATUS_PNG, default /tmp/status.png) to look at.
#
#   scripts/status-page-check.sh [SLUICE_BINARY [BACKEND_BINARY]]   # defaults: build/...
#
# Needs Debian's `chromium` (`scripts/install-deps.sh browser`); exits 77 (ctest: skipped) when it is missing. ctest runs
# it as `status_page_browser` (label `browser`) only when configured with
# -DSLUICE_BROWSER_TESTS=ON: Chromium takes a few seconds of both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
sluice=${1:-build/proxy/sluice}
backend=${2:-build/tests/support/sluice-test-backend}
png=${STATUS_PNG:-/tmp/status.png}

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "chromium is missing: scripts/install-deps.sh browser" >&2
  exit 77
fi
for tool in "$sluice" "$backend"; do
  [ -x "$tool" ] || { echo "not built: $tool (scripts/build.sh release)" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/sluice-status-page.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${keep:-0}" = 1 ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
fail() {
  keep=1
  echo "FAIL: $*" >&2
  exit 1
}

# Free loopback ports from the kernel, so parallel runs cannot collide; `dead`: nothing
# listens there, so connects are refused.
read -r web admin dead < <(scripts/free-ports 3)

"$backend" --listen 127.0.0.1:0 --mode http --name live >"$dir/backend.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  live=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$dir/backend.out")
  [ -n "$live" ] && break
  sleep 0.05
done
[ -n "$live" ] || fail "the backend did not start: $(cat "$dir/backend.out")"

cat >"$dir/sluice.yaml" <<EOF
workers: 1
admin: { listen: 127.0.0.1:$admin }
listeners:
  - name: web
    listen: 127.0.0.1:$web
    protocol: http
    routes:
      - { name: shop, match: { path_prefix: /shop }, cluster: checkout, rate_limit: per-client }
      - { name: legacy, match: { path_prefix: /legacy }, cluster: legacy-pool, retries: { attempts: 0 } }
clusters:
  - name: checkout
    balancer: { type: least_conn }
    endpoints: [ { address: 127.0.0.1:$live, weight: 3 } ]
  - name: legacy-pool
    endpoints: [ { address: 127.0.0.1:$dead } ]
    circuit_breaker: { consecutive_failures: 4, open_for: 60s }
rate_limits:
  - { name: per-client, key: client_ip, rate: 500/s }
EOF
"$sluice" --config "$dir/sluice.yaml" >"$dir/sluice.out" 2>"$dir/sluice.err" &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$admin/ready" >/dev/null && break
  sleep 0.05
done
curl -sf "http://127.0.0.1:$admin/ready" >/dev/null || fail "sluice did not start: $(cat "$dir/sluice.err")"

# 30 answered requests, 4 refused connects (the breaker opens, the endpoint backs off for 8 s).
for _ in $(seq 30); do curl -sf -o /dev/null "http://127.0.0.1:$web/shop/cart"; done
for _ in $(seq 4); do curl -s -o /dev/null "http://127.0.0.1:$web/legacy/x" || true; done
sleep 1.2  # one more reading of the counters, so the page shows a rate

url="http://127.0.0.1:$admin/"
chrome=("$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage
  --user-data-dir="$dir/chrome" --hide-scrollbars)
ms() { echo $(($(date +%s%N) / 1000000)); }
start=$(ms)
"${chrome[@]}" --dump-dom "$url" >"$dir/dom.html" 2>"$dir/chromium.err" ||
  fail "chromium --dump-dom failed: $(tail -5 "$dir/chromium.err")"
echo "chromium --dump-dom took $(($(ms) - start)) ms"

# What the page must show once rendered (the DOM Chromium built, not the bytes sent).
expect() {
  grep -qF -- "$1" "$dir/dom.html" || fail "the rendered page lacks: $1 (DOM in $dir/dom.html)"
}
expect '<span class="b ok">serving</span>'
expect '<h3>checkout <span class="muted">least_conn</span> <span class="b off">no breaker</span></h3>'
expect '<span class="b bad">breaker open</span></h3>'
expect "<tr><td>127.0.0.1:$live</td><td><span class=\"b ok\">healthy</span></td><td class=\"n\">3</td>"
expect "<tr><td>127.0.0.1:$dead</td><td><span class=\"b warn\">backing off</span></td>"
expect '<div class="big">34</div>requests since start'
expect '<div class="big">4</div>5xx since start'
expect '0 5xx since start, 4 failed connects</p>'
expect '<tr><td>per-client</td><td>token bucket</td><td>local</td><td>500/s</td><td>client_ip</td><td class="n">30</td>'
expect "<tr><td>web</td><td>http</td><td>127.0.0.1:$web</td>"
grep -q '<div class="big">0.0</div>HTTP requests/s' "$dir/dom.html" &&
  fail "the page shows no request rate after traffic"
# Inline style only: the page asks for nothing else, so a strict CSP cannot break it.
grep -qiE '<script|<link|<img' "$dir/dom.html" && fail "the page loads more than itself"

start=$(ms)
"${chrome[@]}" --window-size=1280,1100 --screenshot="$png" "$url" >/dev/null 2>>"$dir/chromium.err" ||
  fail "chromium --screenshot failed: $(tail -5 "$dir/chromium.err")"
[ -s "$png" ] || fail "no screenshot at $png"
echo "chromium --screenshot took $(($(ms) - start)) ms; wrote $png"
echo "status page OK"
