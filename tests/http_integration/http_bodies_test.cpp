// Large bodies stream through sluice in both directions without being held in
// memory: a Content-Length upload, a download, and a chunked upload, each
// checked byte for byte (both ends regenerate the same ByteStream) while
// sluice's VmRSS is sampled. Size: $SLUICE_HTTP_BODY_MB (default 1024).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"
#include "tests/support/byte_stream.hpp"
#include "tests/support/proc_stats.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A growth bound far below the body size: anything that buffers a body whole
// (or leaks per chunk) blows through it, while sluice's fixed 16 MiB of
// receive buffers per worker and allocator noise stay well inside.
constexpr uint64_t kMaxRssGrowthKib = 100 * 1024;
constexpr uint64_t kSeed = 42;

uint64_t body_bytes() {
  const char* env = std::getenv("SLUICE_HTTP_BODY_MB");
  const uint64_t mb = env != nullptr && *env != '\0' ? std::strtoull(env, nullptr, 10) : 1024;
  return mb << 20;
}

// Compares what arrives with the stream it should be, without storing either.
class Verifier {
 public:
  explicit Verifier(uint64_t seed) : stream_(seed) {}
  void feed(const char* data, size_t n) {
    if (expected_.size() < n) expected_.resize(n);
    stream_.fill(expected_.data(), n);
    if (first_mismatch_ < 0 && std::memcmp(expected_.data(), data, n) != 0) {
      for (size_t i = 0; i < n; ++i)
        if (expected_[i] != data[i]) {
          first_mismatch_ = static_cast<int64_t>(bytes_ + i);
          break;
        }
    }
    bytes_ += n;
  }
  uint64_t bytes() const { return bytes_; }
  int64_t first_mismatch() const { return first_mismatch_; }

 private:
  ByteStream stream_;
  std::vector<char> expected_;
  uint64_t bytes_ = 0;
  int64_t first_mismatch_ = -1;
};

// Samples a process's VmRSS every 20 ms on its own thread.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid)
      : pid_(pid), baseline_(rss_kib(pid).value_or(0)), peak_(baseline_) {
    thread_ = std::thread([this] {
      while (!stop_) {
        if (auto kib = rss_kib(pid_)) peak_ = std::max<uint64_t>(peak_, *kib);
        std::this_thread::sleep_for(Millis(20));
      }
    });
  }
  ~RssSampler() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t baseline() const { return baseline_; }
  uint64_t growth() const { return peak_ - baseline_; }

 private:
  pid_t pid_;
  uint64_t baseline_;
  std::atomic<uint64_t> peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class HttpBodiesTest : public HttpSluiceTest {
 protected:
  bool start_with(const Upstream& up) {
    HttpConfig config;
    config.clusters = {{"a", {up.address()}}};
    config.routes = {"{ match: {}, cluster: a }"};
    // The request timeout covers the whole exchange, body included.
    config.timeouts = "{ connect: 1s, request: 110s, idle: 30s }";
    return start_sluice(config);
  }

  // The upstream's answer to an upload: "<bytes> <first mismatch or -1>".
  static Upstream::Handler verifying_sink() {
    return [](UpstreamConn& c) {
      for (;;) {
        auto r = c.read_request(Millis(10000), /*read_body=*/false);
        if (!r) return;
        Verifier v(kSeed);
        const bool ok = c.stream_body(
            *r, [&](const char* d, size_t n) { v.feed(d, n); }, Millis(110000));
        c.write(http_response(
            ok ? 200 : 500, std::to_string(v.bytes()) + " " + std::to_string(v.first_mismatch())));
        if (!ok) return;
      }
    };
  }

  void report(const char* what, uint64_t bytes, Clock::time_point start, const RssSampler& rss) {
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("[ info ] %s: %llu MiB in %.1f s (%.0f MiB/s), sluice RSS %llu KiB + %llu KiB\n",
                what, static_cast<unsigned long long>(bytes >> 20), s, (bytes >> 20) / s,
                static_cast<unsigned long long>(rss.baseline()),
                static_cast<unsigned long long>(rss.growth()));
  }
};

TEST_F(HttpBodiesTest, ContentLengthUploadStreamsIntact) {
  Upstream up(verifying_sink());
  ASSERT_TRUE(start_with(up));
  const uint64_t total = body_bytes();
  HttpClient client = connect();
  RssSampler rss(sluice().pid());
  const auto start = Clock::now();
  ASSERT_TRUE(client.send(
      "PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n"));
  ByteStream stream(kSeed);
  std::vector<char> chunk(256 * 1024);
  for (uint64_t sent = 0; sent < total;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), total - sent));
    stream.fill(chunk.data(), n);
    ASSERT_TRUE(client.send(std::string_view(chunk.data(), n), Millis(60000)))
        << "stalled after " << sent << " bytes";
    sent += n;
  }
  std::string error;
  auto r = client.read_response(Millis(60000), false, &error);
  rss.stop();
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::to_string(total) + " -1");
  EXPECT_LT(rss.growth(), kMaxRssGrowthKib);
  report("upload", total, start, rss);
  // The exchange ended cleanly: the connection serves the next request.
  ASSERT_TRUE(client.send(request("PUT", "/small", "t", "", std::string("\x42", 1))));
  r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpBodiesTest, DownloadStreamsIntact) {
  const uint64_t total = body_bytes();
  Upstream up([total](UpstreamConn& c) {
    if (!c.read_request()) return;
    if (!c.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n"))
      return;
    ByteStream stream(kSeed);
    std::string chunk(256 * 1024, '\0');
    for (uint64_t sent = 0; sent < total;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), total - sent));
      stream.fill(chunk.data(), n);
      if (!c.write(std::string_view(chunk.data(), n), Millis(60000))) return;
      sent += n;
    }
    c.read_request();  // keep the connection until sluice is done with it
  });
  ASSERT_TRUE(start_with(up));
  HttpClient client = connect();
  RssSampler rss(sluice().pid());
  const auto start = Clock::now();
  ASSERT_TRUE(client.send(request("GET", "/download", "t")));
  auto head = client.read_head(Millis(10000));
  ASSERT_TRUE(head);
  ASSERT_EQ(head->status, 200);
  ASSERT_EQ(head->header("content-length").value_or(""), std::to_string(total));
  Verifier v(kSeed);
  ASSERT_TRUE(client.stream_body(
      total, [&](const char* d, size_t n) { v.feed(d, n); }, Millis(100000)))
      << "body ended after " << v.bytes() << " bytes";
  rss.stop();
  EXPECT_EQ(v.bytes(), total);
  EXPECT_EQ(v.first_mismatch(), -1);
  EXPECT_LT(rss.growth(), kMaxRssGrowthKib);
  report("download", total, start, rss);
}

// Chunk sizes cycle through awkward values (1 byte, odd sizes, bigger than a
// receive buffer) so chunk boundaries fall everywhere relative to reads.
TEST_F(HttpBodiesTest, ChunkedUploadStreamsIntact) {
  Upstream up(verifying_sink());
  ASSERT_TRUE(start_with(up));
  const uint64_t total = body_bytes();
  HttpClient client = connect();
  RssSampler rss(sluice().pid());
  const auto start = Clock::now();
  ASSERT_TRUE(
      client.send("POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ByteStream stream(kSeed);
  const size_t sizes[] = {1, 7, 4096, 16383, 16384, 16385, 65536, 100000, 3, 262144};
  std::string out;
  uint64_t sent = 0;
  for (size_t i = 0; sent < total; ++i) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(sizes[i % 10], total - sent));
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
    out += size_line;
    const size_t at = out.size();
    out.resize(at + n);
    stream.fill(out.data() + at, n);
    out += "\r\n";
    sent += n;
    if (out.size() >= 512 * 1024) {
      ASSERT_TRUE(client.send(out, Millis(60000))) << "stalled after " << sent << " bytes";
      out.clear();
    }
  }
  out += "0\r\nX-Trailer: done\r\n\r\n";
  ASSERT_TRUE(client.send(out));
  std::string error;
  auto r = client.read_response(Millis(60000), false, &error);
  rss.stop();
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::to_string(total) + " -1");
  EXPECT_LT(rss.growth(), kMaxRssGrowthKib);
  report("chunked upload", total, start, rss);
}

}  // namespace
}  // namespace sluice::testing
