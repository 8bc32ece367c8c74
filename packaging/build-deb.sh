#!/usr/bin/env bash
# Builds the Debian package around an already built sluice binary, compiling nothing:
#   packaging/build-deb.sh [BINARY [OUT_DIR]]
# BINARY defaults to build/proxy/sluice, OUT_DIR to build/deb. Prints the .deb's path.
# Needs cmake, cpack, strip, gzip and dpkg-shlibdeps (dpkg-dev, part of build-essential).
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
binary="$(realpath "${1:-$top/build/proxy/sluice}")"
out="$(realpath -m "${2:-$top/build/deb}")"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { cmake -S "$top/packaging" -B "$out" -DSLUICE_BINARY="$binary" &&
       (cd "$out" && rm -f sluice_*.deb && cpack -G DEB); } >"$log" 2>&1; then
  cat "$log" >&2
  echo "build-deb: packing failed (output above)" >&2
  exit 1
fi
ls "$out"/sluice_*.deb
