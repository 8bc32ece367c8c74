#!/usr/bin/env bash
# Short fuzz run for the test command: builds the libFuzzer targets with clang in
# build-fuzz/ (ASan + UBSan + libFuzzer) and runs each for SLUICE_FUZZ_SECONDS (20) over its
# seed corpus in the repo. Fails on any crash, sanitizer report, leak, timeout or failed
# property check; the input that did it is kept in build-fuzz/fuzz-artifacts/ and the log tail
# is printed. libFuzzer writes the inputs it finds into its first corpus directory: that is a
# scratch directory here, so the seed corpora in the repo never grow.
#   scripts/fuzz-smoke.sh            # all targets, 20 s each
#   SLUICE_FUZZ_SECONDS=600 scripts/fuzz-smoke.sh fuzz_http   # one target, longer
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${SLUICE_FUZZ_SECONDS:-20}"
build="build-fuzz"
# target  binary (in $build)                seeds (read-only)                          dictionary
targets=(
  "fuzz_http    tests/proxy/fuzz/fuzz_http    tests/proxy/fuzz/corpus/http               tests/proxy/fuzz/http.dict"
  "fuzz_chunked tests/proxy/fuzz/fuzz_chunked tests/proxy/fuzz/corpus/chunked            tests/proxy/fuzz/http.dict"
  "config_fuzz  tests/fuzz/config_fuzz        config/examples:tests/config/data          tests/fuzz/config.dict"
  "endpoint_file_fuzz tests/fuzz/endpoint_file_fuzz tests/fuzz/corpus/endpoint_file  tests/fuzz/endpoint_file.dict"
  "etcd_codec_fuzz    tests/fuzz/etcd_codec_fuzz    tests/fuzz/corpus/etcd_codec     tests/fuzz/etcd_codec.dict"
  "consul_codec_fuzz  tests/fuzz/consul_codec_fuzz  tests/fuzz/corpus/consul_codec   tests/fuzz/consul_codec.dict"
  "dns_answer_fuzz    tests/fuzz/dns_answer_fuzz    tests/fuzz/corpus/dns_answer     tests/fuzz/dns_answer.dict"
  "health_response_fuzz tests/fuzz/health_response_fuzz tests/fuzz/corpus/health_response tests/fuzz/health_response.dict"
  "proxy_protocol_fuzz tests/fuzz/proxy_protocol_fuzz tests/fuzz/corpus/proxy_protocol  tests/fuzz/proxy_protocol.dict"
  "value_template_fuzz tests/fuzz/value_template_fuzz tests/fuzz/corpus/value_template tests/fuzz/value_template.dict"
)
wanted=("$@")

selected() {
  [ ${#wanted[@]} -eq 0 ] && return 0
  local w
  for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

names=()
for t in "${targets[@]}"; do
  read -r name _ <<<"$t"
  selected "$name" && names+=("$name")
done
if [ ${#names[@]} -eq 0 ]; then
  echo "fuzz-smoke: no such target: $* (have: fuzz_http fuzz_chunked config_fuzz endpoint_file_fuzz etcd_codec_fuzz consul_codec_fuzz dns_answer_fuzz health_response_fuzz proxy_protocol_fuzz)" >&2
  exit 2
fi

command -v clang++ >/dev/null || { echo "fuzz-smoke: clang++ is needed (scripts/install-deps.sh)" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S . -B "$build" -DSLUICE_FUZZ=ON -DSLUICE_BENCH=OFF >/dev/null
cmake --build "$build" --target "${names[@]}" -j "$(nproc)"

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

failed=0
for t in "${targets[@]}"; do
  read -r name binary seeds dict <<<"$t"
  selected "$name" || continue
  mkdir -p "$scratch/$name"
  IFS=: read -r -a seed_dirs <<<"$seeds"
  log="$scratch/$name.log"
  if "$build/$binary" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -dict="$dict" -artifact_prefix="$artifacts/$name-" -print_final_stats=1 \
    "$scratch/$name" "${seed_dirs[@]}" >"$log" 2>&1; then
    echo "fuzz-smoke: $name ok: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
      grep -o '[0-9]*$') executions in ${seconds} s"
  else
    echo "fuzz-smoke: $name FAILED (input kept in $artifacts/):" >&2
    tail -n 40 "$log" >&2
    failed=1
  fi
done
exit "$failed"
