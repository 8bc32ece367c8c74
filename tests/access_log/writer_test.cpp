#include "proxy/access_log/writer.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/access_log/test_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::access_log {
namespace {

namespace json = boost::json;
using sluice::testing::read_file;
using sluice::testing::TempDir;
using testing::eventually;
using testing::http_record;
using testing::split_lines;
using testing::tcp_record;

std::unique_ptr<AccessLogWriter> start_or_fail(Options options) {
  std::string error;
  auto writer = AccessLogWriter::start(std::move(options), error);
  EXPECT_NE(writer, nullptr) << error;
  return writer;
}

// Collects what the writer thread reports, for the test thread to read.
class Reports {
 public:
  std::function<void(std::string_view)> callback() {
    return [this](std::string_view e) {
      std::lock_guard lock(mutex_);
      messages_.emplace_back(e);
    };
  }
  std::vector<std::string> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

json::object parse(const std::string& line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  EXPECT_FALSE(ec) << ec.message() << " in " << line;
  return v.is_object() ? v.as_object() : json::object{};
}

TEST(AccessLogWriter, TwoWorkersWriteExactlyThePushedLines) {
  TempDir dir("alog");
  const std::string path = dir.file("access.log");
  auto writer = start_or_fail({.path = path, .workers = 2});
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(writer->workers(), 2u);

  // Worker 0 logs HTTP requests, worker 1 TCP connections; seq tells them apart.
  constexpr uint64_t kPerWorker = 300;
  for (uint64_t i = 0; i < kPerWorker; ++i) {
    ASSERT_TRUE(writer->ring(0).try_push(http_record(i)));
    ASSERT_TRUE(writer->ring(1).try_push(tcp_record(1000 + i)));
  }
  writer->stop();
  EXPECT_EQ(writer->lines_written(), 2 * kPerWorker);
  EXPECT_EQ(writer->lines_dropped(), 0u);
  EXPECT_EQ(writer->write_errors(), 0u);

  const std::string text = read_file(path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 2 * kPerWorker);
  std::map<uint64_t, json::object> by_seq;
  uint64_t last_http = 0;
  uint64_t last_tcp = 1000;
  bool first_http = true;
  bool first_tcp = true;
  for (const auto& line : lines) {
    json::object o = parse(line);
    const uint64_t seq = static_cast<uint64_t>(o.at("bytes_sent").as_int64());
    // Each ring's records appear in push order.
    if (seq < 1000) {
      if (!first_http) {
        EXPECT_EQ(seq, last_http + 1);
      }
      first_http = false;
      last_http = seq;
    } else {
      if (!first_tcp) {
        EXPECT_EQ(seq, last_tcp + 1);
      }
      first_tcp = false;
      last_tcp = seq;
    }
    EXPECT_TRUE(by_seq.emplace(seq, std::move(o)).second) << "duplicate " << seq;
  }
  ASSERT_EQ(by_seq.size(), 2 * kPerWorker);
  const json::object& h = by_seq.at(17);
  EXPECT_EQ(h.at("kind").as_string(), "http");
  EXPECT_EQ(h.at("time").as_string(), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(h.at("request_id").as_string(), "req-17");
  EXPECT_EQ(h.at("path").as_string(), "/v1/items?id=7");
  EXPECT_EQ(h.at("status").as_int64(), 200);
  EXPECT_DOUBLE_EQ(h.at("duration_ms").as_double(), 1.234);
  const json::object& t = by_seq.at(1017);
  EXPECT_EQ(t.at("kind").as_string(), "tcp");
  EXPECT_FALSE(t.contains("path"));
  EXPECT_TRUE(t.at("upstream_duration_ms").is_null());
}

TEST(AccessLogWriter, EscapedPathsSurviveTheWriter) {
  TempDir dir("alog");
  const std::string path = dir.file("access.log");
  auto writer = start_or_fail({.path = path});
  ASSERT_NE(writer, nullptr);
  const std::vector<std::string> paths = {"/q\"uote", "/new\nline", "/back\\slash",
                                          std::string("/ctl\x00\x01\x1b", 7), "/bad\xFF\xFE"};
  for (size_t i = 0; i < paths.size(); ++i) {
    AccessRecord r = http_record(i);
    set(r.path, paths[i]);
    ASSERT_TRUE(writer->ring(0).try_push(r));
  }
  writer->stop();
  const auto lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string want = i + 1 < paths.size() ? paths[i] : "/bad\xEF\xBF\xBD\xEF\xBF\xBD";
    EXPECT_EQ(parse(lines[i]).at("path").as_string(), want) << i;
  }
}

TEST(AccessLogWriter, ReopenAfterRenameStartsAFreshFile) {
  TempDir dir("alog");
  const std::string path = dir.file("access.log");
  const std::string rotated = dir.file("access.log.1");
  auto writer = start_or_fail({.path = path});
  ASSERT_NE(writer, nullptr);
  for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(writer->ring(0).try_push(http_record(i)));
  ASSERT_TRUE(eventually([&] { return writer->lines_written() == 10; }));

  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
  // Until the reopen, lines keep going to the renamed file (logrotate's window).
  for (uint64_t i = 10; i < 15; ++i) ASSERT_TRUE(writer->ring(0).try_push(http_record(i)));
  ASSERT_TRUE(eventually([&] { return writer->lines_written() == 15; }));
  writer->reopen();
  ASSERT_TRUE(eventually([&] { return writer->reopens() == 1; }));
  for (uint64_t i = 15; i < 20; ++i) ASSERT_TRUE(writer->ring(0).try_push(http_record(i)));
  writer->stop();

  const auto old_lines = split_lines(read_file(rotated));
  const auto new_lines = split_lines(read_file(path));
  ASSERT_EQ(old_lines.size(), 15u);
  ASSERT_EQ(new_lines.size(), 5u);
  EXPECT_EQ(parse(old_lines.front()).at("request_id").as_string(), "req-0");
  EXPECT_EQ(parse(old_lines.back()).at("request_id").as_string(), "req-14");
  EXPECT_EQ(parse(new_lines.front()).at("request_id").as_string(), "req-15");
  EXPECT_EQ(parse(new_lines.back()).at("request_id").as_string(), "req-19");
}

TEST(AccessLogWriter, FailedReopenKeepsTheOldFileAndReports) {
  TempDir dir("alog");
  const std::string sub = dir.file("logs");
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  const std::string path = sub + "/access.log";
  Reports reports;
  auto writer = start_or_fail({.path = path, .on_error = reports.callback()});
  ASSERT_NE(writer, nullptr);
  ASSERT_EQ(std::rename(sub.c_str(), dir.file("gone").c_str()), 0);  // path can't be created now
  writer->reopen();
  ASSERT_TRUE(eventually([&] { return !reports.messages().empty(); }));
  ASSERT_TRUE(writer->ring(0).try_push(http_record(1)));
  writer->stop();
  EXPECT_EQ(writer->reopens(), 0u);
  EXPECT_EQ(writer->lines_written(), 1u);
  EXPECT_EQ(split_lines(read_file(dir.file("gone") + "/access.log")).size(), 1u);
  const auto errors = reports.messages();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("cannot open"), std::string::npos) << errors[0];
}

TEST(AccessLogWriter, TextFormat) {
  TempDir dir("alog");
  const std::string path = dir.file("access.log");
  auto writer = start_or_fail({.path = path, .format = Format::text});
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->ring(0).try_push(http_record(5)));
  ASSERT_TRUE(writer->ring(0).try_push(tcp_record(6)));
  writer->stop();
  EXPECT_EQ(
      read_file(path),
      "2024-05-01T12:34:56.789Z http 10.0.0.1:5555 \"GET /v1/items?id=7 HTTP/1.1\" 200 rx=321 "
      "tx=5 dur=1.234ms up=0.800ms listener=web route=api cluster=backend "
      "endpoint=10.0.0.2:8080 upstream_status=200 host=api.example id=req-5 rl=admitted "
      "breaker=allowed err=- fallback=-\n"
      "2024-05-01T12:34:56.789Z tcp 10.0.0.1:5555 rx=321 tx=6 dur=1.234ms up=- "
      "listener=web cluster=backend endpoint=10.0.0.2:8080 rl=none breaker=none err=-\n");
}

TEST(AccessLogWriter, AppendsToAnExistingFile) {
  TempDir dir("alog");
  const std::string path = dir.write("access.log", "earlier\n");
  auto writer = start_or_fail({.path = path});
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->ring(0).try_push(http_record(1)));
  writer->stop();
  const auto lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "earlier");
}

TEST(AccessLogWriter, DiskFullCountsErrorsLosesTheBatchAndReportsOnce) {
  Reports reports;
  // /dev/full fails every write with ENOSPC.
  const auto started = std::chrono::steady_clock::now();
  auto writer = start_or_fail({.path = "/dev/full", .on_error = reports.callback()});
  ASSERT_NE(writer, nullptr);
  for (int round = 0; round < 3; ++round) {
    for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(writer->ring(0).try_push(http_record(i)));
    const uint64_t want = 10 * static_cast<uint64_t>(round + 1);
    ASSERT_TRUE(eventually([&] { return writer->lines_lost() == want; }));
  }
  writer->stop();
  EXPECT_EQ(writer->lines_written(), 0u);
  EXPECT_EQ(writer->lines_lost(), 30u);
  // One failed write per batch: usually one per round, but a writer that wakes while a round
  // is still being pushed writes it in two or more batches (seen once on a loaded box).
  EXPECT_GE(writer->write_errors(), 1u);
  EXPECT_LE(writer->write_errors(), 30u);
  const auto errors = reports.messages();
  // At most one report per second: three failures, but on a loaded machine the
  // three rounds may span more than one second.
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  ASSERT_GE(errors.size(), 1u);
  ASSERT_LE(errors.size(), static_cast<size_t>(1 + seconds));
  EXPECT_NE(errors[0].find("No space left on device"), std::string::npos) << errors[0];
}

TEST(AccessLogWriter, StartFailsWithAReason) {
  std::string error;
  auto writer = AccessLogWriter::start({.path = "/nonexistent-dir/x/access.log"}, error);
  EXPECT_EQ(writer, nullptr);
  EXPECT_NE(error.find("/nonexistent-dir/x/access.log"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(AccessLogWriter::start({.path = "/dev/null", .workers = 0}, error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST(AccessLogWriter, StdoutReopenIsANoOp) {
  auto writer = start_or_fail({.path = "stdout"});
  ASSERT_NE(writer, nullptr);
  writer->reopen();
  ASSERT_TRUE(eventually([&] { return writer->reopens() == 1; }));
  writer->stop();
  EXPECT_EQ(writer->write_errors(), 0u);
}

TEST(AccessLogWriter, SamplersFollowTheOption) {
  auto writer = start_or_fail({.path = "/dev/null", .sample = 0.0, .workers = 3});
  ASSERT_NE(writer, nullptr);
  for (unsigned w = 0; w < 3; ++w) EXPECT_FALSE(writer->sampler(w).sample());
}

TEST(AccessLogWriter, ConcurrentProducerLosesNothingUncounted) {
  // Small ring, fast producer: most pushes find it full. Every record must be
  // either written or counted as dropped.
  auto writer = start_or_fail({.path = "/dev/null", .ring_capacity = 1024, .workers = 2});
  ASSERT_NE(writer, nullptr);
  constexpr uint64_t kPushes = 1'000'000;
  uint64_t accepted[2] = {0, 0};
  std::vector<std::thread> producers;
  for (unsigned w = 0; w < 2; ++w) {
    producers.emplace_back([&, w] {
      AccessRecord r = http_record(0);
      for (uint64_t i = 0; i < kPushes / 2; ++i) {
        r.bytes_sent = i;
        accepted[w] += writer->ring(w).try_push(r) ? 1 : 0;
        // Pace the producers now and then, so the writer's drains interleave
        // with pushes throughout instead of only meeting a full ring.
        if (i % 64 == 0) std::this_thread::yield();
      }
    });
  }
  for (auto& t : producers) t.join();
  writer->stop();
  EXPECT_EQ(writer->lines_written() + writer->lines_dropped(), kPushes);
  EXPECT_EQ(writer->lines_written(), accepted[0] + accepted[1]);
  EXPECT_EQ(writer->lines_lost(), 0u);
  EXPECT_GT(writer->lines_written(), 0u);
  std::printf("written %llu dropped %llu\n",
              static_cast<unsigned long long>(writer->lines_written()),
              static_cast<unsigned long long>(writer->lines_dropped()));
}

}  // namespace
}  // namespace sluice::access_log
