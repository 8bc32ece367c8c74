#!/usr/bin/env bash
# Installs every Debian 12 package sluice needs to build, test and benchmark.
# The one list of packages: README, CI and the Dockerfile all come through here.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl python3
  liburing-dev libboost1.81-dev libboost-json1.81-dev libssl-dev libjemalloc-dev
  prometheus-cpp-dev libyaml-cpp-dev libhiredis-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang clang-format libclang-rt-14-dev
  redis-server etcd-server etcd-client nginx-light libnginx-mod-stream haproxy wrk prometheus
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -q
  # Debian's nginx/redis/etcd postinst scripts try to start system services; tests start their own.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
