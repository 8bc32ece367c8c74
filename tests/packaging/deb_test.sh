#!/usr/bin/env bash
# Builds the Debian package around the sluice binary this tree built (packaging/build-deb.sh,
# a few seconds, no compiling) and checks what Debian 12 would install:
#   - control fields, computed dependencies, conffiles, maintainer scripts (dpkg-deb -I)
#   - every file at its Debian path and nothing under /usr/local or /usr/etc (dpkg-deb -c)
#   - the packaged binary runs and validates the packaged configuration
#   - the unit passes `systemd-analyze verify` without a single complaint
#   - the man page renders without a groff warning
#   - the logrotate rule parses (logrotate --debug)
# and, first, that `cmake --install` of the build tree puts the same five files in place, the
# unit naming the binary and the configuration where they landed.
# Usage: deb_test.sh SOURCE_DIR SLUICE_BINARY BUILD_DIR
set -euo pipefail
src="$1"
binary="$2"
build="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
for tool in cpack dpkg-deb dpkg-shlibdeps readelf systemd-analyze groff logrotate; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool (scripts/install-deps.sh)" >&2; exit 1; }
done

# cmake --install, into a staging directory.
stage="$work/stage"
DESTDIR="$stage" cmake --install "$build" >/dev/null
installed="$(cd "$stage" && find . -type f | sort)"
for name in bin/sluice share/man/man8/sluice.8.gz etc/sluice/sluice.yaml etc/logrotate.d/sluice \
            lib/systemd/system/sluice.service; do
  grep -q "/$name\$" <<<"$installed" || fail "cmake --install did not install */$name: $installed"
done
[ "$(wc -l <<<"$installed")" -eq 5 ] || fail "cmake --install installed more than five files: $installed"
unit="$(grep "/sluice.service$" <<<"$installed" | head -1)"
exe="$(grep "/bin/sluice$" <<<"$installed" | head -1)"
conf="$(grep "/sluice/sluice.yaml$" <<<"$installed" | head -1)"
grep -qx "ExecStart=${exe#.} --config ${conf#.}" "$stage/$unit" ||
  fail "the installed unit does not run ${exe#.} --config ${conf#.}: $(grep ^ExecStart= "$stage/$unit")"

deb="$("$src/packaging/build-deb.sh" "$binary" "$work/deb")"
echo "built $deb"
[ "$(basename "$deb")" = "sluice_$("$binary" --version | awk 'NR==1 {print $2}')_$(dpkg --print-architecture).deb" ] ||
  fail "unexpected package file name $(basename "$deb")"

# Control fields. Depends comes from dpkg-shlibdeps: the libraries the binary links.
info="$(dpkg-deb -f "$deb" Package Depends)"
grep -qx "Package: sluice" <<<"$info" || fail "Package is not sluice: $info"
for lib in libc6 liburing2 libssl3 libyaml-cpp0.7 libprometheus-cpp-core1.0 libhiredis0.14 \
           libc-ares2 libpcre2-8-0; do
  grep -q "^Depends:.*\b$lib\b" <<<"$info" || fail "Depends lacks $lib: $info"
done
conffiles="$(dpkg-deb -I "$deb" conffiles)"
for f in /etc/sluice/sluice.yaml /etc/logrotate.d/sluice; do
  grep -qx "$f" <<<"$conffiles" || fail "conffiles lacks $f: $conffiles"
done
[ "$(wc -l <<<"$conffiles")" -eq 2 ] || fail "conffiles lists more than the two /etc files: $conffiles"
for script in postinst prerm postrm; do
  dpkg-deb -I "$deb" "$script" >"$work/$script" || { fail "no $script"; continue; }
  sh -n "$work/$script" || fail "$script is not valid sh"
done

# Files, at the paths Debian 12 keeps them.
contents="$(dpkg-deb -c "$deb" | awk '{print $1, $NF}')"
for entry in "-rwxr-xr-x ./usr/bin/sluice" "-rw-r--r-- ./usr/share/man/man8/sluice.8.gz" \
             "-rw-r--r-- ./lib/systemd/system/sluice.service" \
             "-rw-r--r-- ./etc/logrotate.d/sluice" "-rw-r--r-- ./etc/sluice/sluice.yaml"; do
  grep -qxF -- "$entry" <<<"$contents" || fail "package lacks '$entry'"
done
if grep -E '\./usr/(local|etc)/' <<<"$contents"; then fail "files under /usr/local or /usr/etc"; fi

root="$work/root"
dpkg-deb -x "$deb" "$root"
readelf -S "$root/usr/bin/sluice" | grep -q '\.symtab' && fail "the packaged binary is not stripped"
"$root/usr/bin/sluice" --version >/dev/null || fail "the packaged binary does not run"
"$root/usr/bin/sluice" --validate "$root/etc/sluice/sluice.yaml" >/dev/null ||
  fail "the packaged configuration does not validate"

# The unit, with its paths pointed into the unpacked package: verify checks that ExecStart's
# binary exists. It exits 0 on unknown keys and bad values (it only logs them), so any
# output at all fails the test. --man=no: the man page is not installed on this system.
unit_dir="$work/unit"
mkdir -p "$unit_dir"
sed -e "s|/usr/bin/sluice|$root/usr/bin/sluice|g" -e "s|/etc/sluice/|$root/etc/sluice/|g" \
  "$root/lib/systemd/system/sluice.service" >"$unit_dir/sluice.service"
grep -q "^ExecStart=$root/usr/bin/sluice --config $root/etc/sluice/sluice.yaml$" \
  "$unit_dir/sluice.service" || fail "ExecStart does not run /usr/bin/sluice on /etc/sluice/sluice.yaml"
for key in "NoNewPrivileges=yes" "ProtectSystem=strict" "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" \
           "AmbientCapabilities=CAP_NET_BIND_SERVICE" "LimitNOFILE=1048576" \
           'ExecReload=/bin/kill -HUP $MAINPID' "DynamicUser=yes"; do
  grep -qxF "$key" "$unit_dir/sluice.service" || fail "unit lacks $key"
done
grep -qxF "ExecStartPre=$root/usr/bin/sluice --validate $root/etc/sluice/sluice.yaml" \
  "$unit_dir/sluice.service" || fail "unit does not validate the configuration before start"
if ! verify="$(systemd-analyze verify --man=no "$unit_dir/sluice.service" 2>&1)" || [ -n "$verify" ]; then
  fail "systemd-analyze verify: $verify"
fi
# io_uring must survive the unit's system call filter (an allow list of @groups).
filter="$(sed -n 's/^SystemCallFilter=//p' "$unit_dir/sluice.service")"
expand() {  # the system calls in a @group, nested groups included
  local line
  systemd-analyze syscall-filter "$1" | tail -n +2 | while read -r line; do
    case "$line" in "#"* | "") ;; @*) expand "$line" ;; *) echo "$line" ;; esac
  done
}
if [ -n "$filter" ]; then
  allowed="$(for group in $filter; do expand "$group"; done)"
  for call in io_uring_setup io_uring_enter io_uring_register; do
    grep -qw "$call" <<<"$allowed" || fail "SystemCallFilter=$filter does not allow $call"
  done
fi

# The man page: no groff warning (-ww), and it names every command-line option.
zcat "$root/usr/share/man/man8/sluice.8.gz" >"$work/sluice.8"
if ! warnings="$(groff -man -Tutf8 -ww -z "$work/sluice.8" 2>&1)" || [ -n "$warnings" ]; then
  fail "groff warnings in sluice.8: $warnings"
fi
page="$(groff -man -Tutf8 -P-cbou "$work/sluice.8" 2>/dev/null)"
for word in --config --validate --format --version --help SIGHUP SIGTERM SIGINT SIGUSR1 \
            /metrics /ready /reload /drain /etc/sluice/sluice.yaml; do
  grep -qF -- "$word" <<<"$page" || fail "the man page does not mention $word"
done
grep -q '@[A-Z_]*@' "$work/sluice.8" && fail "the man page has an unsubstituted @VARIABLE@"

# The logrotate rule parses; --debug changes nothing.
if ! out="$(logrotate --debug --state "$work/logrotate.state" "$root/etc/logrotate.d/sluice" 2>&1)"; then
  fail "logrotate rejects the rule: $out"
fi
grep -qi "error" <<<"$out" && fail "logrotate reports an error: $out"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "ok: $(basename "$deb")"
