#!/usr/bin/env bash
# The unit's seccomp settings let sluice do its work: every system call a run makes (start,
# HTTP and TCP traffic, admin requests, POST /reload, SIGHUP, SIGUSR1 after a log move, a
# SIGTERM drain, plus --validate and --version, which ExecStartPre and people run) is in the
# unit's SystemCallFilter, and every socket family it opens is in RestrictAddressFamilies.
# A new call outside the set would fail with EPERM under systemd only, so it is caught here,
# with strace, rather than in production.
# Usage: syscall_filter_test.sh SOURCE_DIR SLUICE_BINARY BACKEND_BINARY
# Exits 77 (skipped) where ptrace is not allowed (some containers).
set -euo pipefail
src="$1"
sluice="$2"
backend="$3"
unit="$src/packaging/sluice.service.in"
work="$(mktemp -d)"
pids=()  # the backend, strace, then sluice: a killed strace leaves its tracee running
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for tool in strace systemd-analyze curl python3; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool (scripts/install-deps.sh)" >&2; exit 1; }
done
strace -f -qq -o /dev/null true 2>/dev/null || { echo "skipped: strace cannot trace here"; exit 77; }

# The backend binds port 0 and says which port it got, so no other test's socket can take it
# in between (the ports below are only free "a moment ago").
"$backend" --mode http --name up --listen 127.0.0.1:0 >"$work/backend.out" &
pids+=($!)
upstream=""
for _ in $(seq 100); do
  upstream="$(sed -n 's/^listening //p' "$work/backend.out")"
  [ -n "$upstream" ] && break
  sleep 0.05
done
[ -n "$upstream" ] || { echo "FAIL: the backend did not start" >&2; exit 1; }
read -r web tcp admin < <("$src/scripts/free-ports" 3)
cat >"$work/sluice.yaml" <<EOF
workers: 2
admin: { listen: 127.0.0.1:$admin }
log:
  access: { path: $work/access.log, format: json }
listeners:
  - name: web
    listen: 127.0.0.1:$web
    protocol: http
    routes: [{ match: { path_prefix: / }, cluster: app }]
  - { name: tcp, listen: 127.0.0.1:$tcp, protocol: tcp, cluster: app }
clusters:
  - name: app
    endpoints: [{ address: 127.0.0.1:$upstream }]
EOF

strace -f -qq -o "$work/run.trace" "$sluice" --config "$work/sluice.yaml" 2>"$work/sluice.log" &
pids+=($!)
for _ in $(seq 100); do
  curl -sf --max-time 1 "http://127.0.0.1:$admin/ready" >/dev/null && break
  sleep 0.2
done
sluice_pid="$(pgrep -P "${pids[1]}" -x sluice)"
pids+=("$sluice_pid")
for _ in 1 2 3; do
  curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$web/a"
  curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$tcp/b"
done
for path in metrics clusters config live; do
  curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$admin/$path"
done
curl -sf --max-time 2 -o /dev/null -X POST -H 'X-Sluice-Admin: 1' "http://127.0.0.1:$admin/reload"
kill -HUP "$sluice_pid"
sleep 0.3
mv "$work/access.log" "$work/access.log.1"
kill -USR1 "$sluice_pid"
sleep 0.3
curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$web/c"
kill -TERM "$sluice_pid"
wait "${pids[1]}" || { cat "$work/sluice.log" >&2; echo "FAIL: sluice did not exit 0" >&2; exit 1; }
[ -s "$work/access.log" ] || { echo "FAIL: the access log was not reopened" >&2; exit 1; }
strace -f -qq -o "$work/validate.trace" "$sluice" --validate "$work/sluice.yaml" >/dev/null
strace -f -qq -o "$work/version.trace" "$sluice" --version >/dev/null

# strace lines: "PID name(args...) = result"; resumed calls do not start a name.
used="$(sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$work"/*.trace | sort -u)"
expand() {  # the system calls in a @group, nested groups included
  local line
  systemd-analyze syscall-filter "$1" | tail -n +2 | while read -r line; do
    case "$line" in "#"* | "") ;; @*) expand "$line" ;; *) echo "$line" ;; esac
  done
}
filter="$(sed -n 's/^SystemCallFilter=//p' "$unit")"
allowed="$(for group in $filter; do expand "$group"; done | sort -u)"
[ -n "$allowed" ] || { echo "FAIL: no SystemCallFilter in $unit" >&2; exit 1; }
failures=0
outside="$(comm -23 <(echo "$used") <(echo "$allowed"))"
if [ -n "$outside" ]; then
  echo "FAIL: system calls outside SystemCallFilter=$filter:" $outside >&2
  failures=1
fi
families="$(grep -ohE '[^a-z_]socket\(AF_[A-Z0-9]+' "$work"/*.trace | sed 's/.*(//' | sort -u)"
restricted="$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")"
for family in $families; do
  grep -qw -- "$family" <<<"$restricted" ||
    { echo "FAIL: socket family $family not in RestrictAddressFamilies=$restricted" >&2; failures=1; }
done
echo "$(wc -l <<<"$used") distinct system calls; socket families:" $families
[ "$failures" -eq 0 ] && echo "ok: all inside SystemCallFilter=$filter and RestrictAddressFamilies"
exit "$failures"
