#!/usr/bin/env bash
# Installs the Debian 12 packages sluice needs, by group. The one list of packages: README,
# CI and the Dockerfile all come through here. Through `sudo` when not root.
#   scripts/install-deps.sh           all: everything to build, test, check and benchmark
#   scripts/install-deps.sh demo      only what building sluice and the demo backend needs
#                                     (scripts/demo.sh)
#   scripts/install-deps.sh browser   a headless browser (chromium), for tests that drive one;
#                                     not part of `all`
# Groups combine: scripts/install-deps.sh all browser.
set -euo pipefail

# Compiling sluice and tests/support's backend (scripts/build.sh demo), and curl to try it;
# c-ares resolves DNS discovery without blocking the control thread; PCRE2 (with its JIT)
# matches path_regex routes and regex rewrites.
DEMO=(
  build-essential cmake pkg-config git ca-certificates curl
  liburing-dev libboost1.81-dev libboost-json1.81-dev libssl-dev libjemalloc-dev
  prometheus-cpp-dev libyaml-cpp-dev libhiredis-dev libc-ares-dev libpcre2-dev
)
# The test suite, benchmarks and house-rule checks on top of that: GoogleTest and Google
# Benchmark (RE2: bench/regex_bench.cpp measures PCRE2 against it), clang (fuzzing) and
# clang-format, the servers tests and benchmarks start
# (dnsmasq-base: the DNS server of the discovery tests), python3 (scripts/check-layout), and what tests/packaging checks the package with
# (systemd-analyze from systemd, groff from groff-base, logrotate, strace), the TLS tests'
# clients (openssl comes with libssl-dev's tools; curl) plus testssl.sh (scripts/tls-scan.sh).
TEST=(
  python3
  libgtest-dev libgmock-dev libbenchmark-dev libre2-dev
  clang clang-format libclang-rt-14-dev
  redis-server etcd-server etcd-client dnsmasq-base nginx-light libnginx-mod-stream haproxy wrk
  prometheus
  systemd groff-base logrotate strace
  testssl.sh curl
)
BROWSER=(chromium)

packages=()
for group in "${@:-all}"; do
  case "$group" in
    demo) packages+=("${DEMO[@]}") ;;
    all) packages+=("${DEMO[@]}" "${TEST[@]}") ;;
    browser) packages+=("${BROWSER[@]}") ;;
    *) echo "usage: $0 [all|demo|browser]... (default: all)" >&2; exit 2 ;;
  esac
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -q
  # Debian's nginx/redis/etcd postinst scripts try to start system services; tests start their own.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
