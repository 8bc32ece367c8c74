// The PROXY protocol parser (proxy/proxy_protocol/) per accepted connection: a v1 line, a v2
// header with only addresses, and a v2 header with ALPN, authority, SSL and a CRC32C TLV (the
// checksum is most of its cost); the writer for what sluice sends upstream; and a v2 header
// arriving in 8-byte pieces, re-parsed from the start each time as the prelude does.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "proxy/proxy_protocol/parser.hpp"
#include "proxy/proxy_protocol/writer.hpp"

namespace {

namespace pp = sluice::proxy::proxy_protocol;

pp::Header sample(pp::Version version, bool tlvs) {
  pp::Header h;
  h.version = version;
  auto& src = reinterpret_cast<sockaddr_in&>(h.source);
  auto& dst = reinterpret_cast<sockaddr_in&>(h.destination);
  src.sin_family = dst.sin_family = AF_INET;
  inet_pton(AF_INET, "198.51.100.23", &src.sin_addr);
  inet_pton(AF_INET, "10.0.0.1", &dst.sin_addr);
  src.sin_port = htons(51234);
  dst.sin_port = htons(443);
  if (tlvs) {
    h.alpn = "h2";
    h.authority = "api.example.com";
    h.has_ssl = true;
    h.ssl.client = pp::kClientSsl;
    h.ssl.version = "TLSv1.3";
    h.ssl.cipher = "TLS_AES_128_GCM_SHA256";
  }
  return h;
}

void parse_bench(benchmark::State& state, const std::string& bytes) {
  for (auto _ : state) {
    pp::Header h;
    benchmark::DoNotOptimize(pp::parse(bytes, h));
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}

void BM_ParseV1(benchmark::State& state) {
  parse_bench(state, pp::write(sample(pp::Version::v1, false)) + "GET / HTTP/1.1\r\n");
}
BENCHMARK(BM_ParseV1);

// The fixed part, addresses and a CRC32C TLV (sluice's writer always adds one).
void BM_ParseV2(benchmark::State& state) {
  parse_bench(state, pp::write(sample(pp::Version::v2, false)) + "GET / HTTP/1.1\r\n");
}
BENCHMARK(BM_ParseV2);

void BM_ParseV2WithTlvs(benchmark::State& state) {
  parse_bench(state, pp::write(sample(pp::Version::v2, true)) + "GET / HTTP/1.1\r\n");
}
BENCHMARK(BM_ParseV2WithTlvs);

void BM_ParseV2InPieces(benchmark::State& state) {
  const std::string bytes = pp::write(sample(pp::Version::v2, true));
  for (auto _ : state) {
    pp::Header h;
    for (size_t n = 8; n < bytes.size() + 8; n += 8)
      benchmark::DoNotOptimize(pp::parse(std::string_view(bytes).substr(0, n), h));
  }
}
BENCHMARK(BM_ParseV2InPieces);

void BM_WriteV1(benchmark::State& state) {
  const pp::Header h = sample(pp::Version::v1, false);
  for (auto _ : state) benchmark::DoNotOptimize(pp::write(h));
}
BENCHMARK(BM_WriteV1);

void BM_WriteV2WithTlvs(benchmark::State& state) {
  const pp::Header h = sample(pp::Version::v2, true);
  for (auto _ : state) benchmark::DoNotOptimize(pp::write(h));
}
BENCHMARK(BM_WriteV2WithTlvs);

}  // namespace

BENCHMARK_MAIN();
