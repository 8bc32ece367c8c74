#!/usr/bin/env bash
# scripts/demo.sh stops cleanly when SIGNAL (TERM or INT) goes to the script alone, not to
# its process group: sluice and both backends are gone, the script exits promptly with
# 128 + the signal's number, and sluice's listener is closed.
# The demo runs with this build tree (no install, no build) on free ports, from a config
# written here, so that it can run beside other tests.
# Usage: demo_signal_test.sh SOURCE_DIR BUILD_DIR TERM|INT
set -euo pipefail
src="$1"
build="$2"
signal="$3"
work="$(mktemp -d)"
demo_pid=""
cleanup() {
  # Whatever the outcome, leave nothing behind.
  [ -z "$demo_pid" ] || pkill -KILL -P "$demo_pid" 2>/dev/null || true
  [ -z "$demo_pid" ] || kill -KILL "$demo_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Four ports nobody listens on (the kernel's pick, released at once).
read -r listen admin b1 b2 < <("$src/scripts/free-ports" 4)
cat >"$work/demo.yaml" <<EOF
workers: 1
admin: { listen: 127.0.0.1:$admin }
listeners:
  - { name: web, listen: 127.0.0.1:$listen, protocol: tcp, cluster: demo }
clusters:
  - name: demo
    endpoints: [{ address: 127.0.0.1:$b1 }, { address: 127.0.0.1:$b2 }]
EOF

# Job control puts the demo in a process group of its own and, unlike a plain `&` in a
# script, does not start it with SIGINT ignored; so the signal below reaches the script
# alone, as `kill -INT <pid>` from another terminal would.
set -m
SLUICE_DEMO_SKIP_INSTALL=1 SLUICE_DEMO_SKIP_BUILD=1 SLUICE_DEMO_BUILD_DIR="$build" \
  SLUICE_DEMO_CONFIG="$work/demo.yaml" SLUICE_DEMO_BACKENDS="127.0.0.1:$b1 127.0.0.1:$b2" \
  "$src/scripts/demo.sh" >"$work/demo.log" 2>&1 &
demo_pid=$!
set +m

# Up when the proxy answers with a backend's HTTP response.
for _ in $(seq 150); do
  curl -sf --max-time 1 "http://127.0.0.1:$listen/" >/dev/null && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.log" >&2; echo "FAIL: the demo exited early" >&2; exit 1; }
  sleep 0.2
done
curl -sf --max-time 1 "http://127.0.0.1:$listen/" >/dev/null ||
  { cat "$work/demo.log" >&2; echo "FAIL: 127.0.0.1:$listen never answered" >&2; exit 1; }
mapfile -t children < <(pgrep -P "$demo_pid")
[ "${#children[@]}" -eq 3 ] ||
  { ps -o pid,args --ppid "$demo_pid" >&2; echo "FAIL: expected sluice and two backends" >&2; exit 1; }
echo "demo $demo_pid up on 127.0.0.1:$listen with children ${children[*]}"

start=$(date +%s%N)
kill "-$signal" "$demo_pid"
status=""
for _ in $(seq 100); do
  if ! kill -0 "$demo_pid" 2>/dev/null; then
    wait "$demo_pid" && status=0 || status=$?
    break
  fi
  sleep 0.1
done
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
cat "$work/demo.log"
failures=0
if [ -z "$status" ]; then
  echo "FAIL: the demo still runs 10 s after SIG$signal" >&2
  failures=1
else
  echo "the demo exited with $status after ${elapsed_ms} ms"
  expected=$((128 + $(kill -l "$signal")))
  [ "$status" -eq "$expected" ] || { echo "FAIL: exit status $status, expected $expected" >&2; failures=1; }
  [ "$elapsed_ms" -lt 5000 ] || { echo "FAIL: took ${elapsed_ms} ms to stop" >&2; failures=1; }
fi
for pid in "${children[@]}"; do
  # A zombie counts: the script returned before it had waited for its child.
  if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: child $pid is still there when the script has exited:" \
         "$(ps -o stat=,args= -p "$pid" || true)" >&2
    failures=1
  fi
done
grep -q "SIGTERM received: draining" "$work/demo.log" ||
  { echo "FAIL: sluice did not drain" >&2; failures=1; }
grep -q "sluice stopped" "$work/demo.log" || { echo "FAIL: sluice did not stop cleanly" >&2; failures=1; }
if curl -s --max-time 1 "http://127.0.0.1:$listen/" >/dev/null; then
  echo "FAIL: 127.0.0.1:$listen still answers" >&2
  failures=1
fi
[ "$failures" -eq 0 ] && echo "ok: SIG$signal to the script alone stopped everything"
exit "$failures"
