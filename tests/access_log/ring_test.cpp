#include "proxy/access_log/ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "tests/access_log/test_util.hpp"

namespace sluice::access_log {
namespace {

using testing::http_record;

std::vector<uint64_t> drain_seqs(RecordRing& ring, size_t max = SIZE_MAX) {
  std::vector<uint64_t> seqs;
  ring.drain([&](const AccessRecord& r) { seqs.push_back(r.bytes_sent); }, max);
  return seqs;
}

TEST(RecordRing, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(RecordRing(0).capacity(), 2u);
  EXPECT_EQ(RecordRing(1).capacity(), 2u);
  EXPECT_EQ(RecordRing(4).capacity(), 4u);
  EXPECT_EQ(RecordRing(5).capacity(), 8u);
  EXPECT_EQ(RecordRing(4096).capacity(), 4096u);
}

TEST(RecordRing, FullRingDropsAndCounts) {
  RecordRing ring(4);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(ring.try_push(http_record(i)));
  EXPECT_EQ(ring.size(), 4u);
  EXPECT_FALSE(ring.try_push(http_record(4)));
  EXPECT_FALSE(ring.try_push(http_record(5)));
  EXPECT_EQ(ring.dropped(), 2u);
  // The dropped records are gone; what was accepted comes out intact.
  EXPECT_EQ(drain_seqs(ring), (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_TRUE(ring.try_push(http_record(6)));
  EXPECT_EQ(ring.dropped(), 2u);
  EXPECT_EQ(drain_seqs(ring), (std::vector<uint64_t>{6}));
}

TEST(RecordRing, WraparoundPreservesOrder) {
  RecordRing ring(4);
  uint64_t next_push = 0;
  uint64_t next_pop = 0;
  // Uneven push/drain steps put head and tail at every slot offset many times.
  for (int round = 0; round < 1000; ++round) {
    const size_t pushes = std::min<size_t>(1 + round % 4, ring.capacity() - ring.size());
    for (size_t i = 0; i < pushes; ++i) ASSERT_TRUE(ring.try_push(http_record(next_push++)));
    const size_t take = 1 + static_cast<size_t>(round % 3);
    for (uint64_t seq : drain_seqs(ring, take)) ASSERT_EQ(seq, next_pop++);
    if (ring.size() > 1) {
      for (uint64_t seq : drain_seqs(ring)) ASSERT_EQ(seq, next_pop++);
    }
  }
  for (uint64_t seq : drain_seqs(ring)) ASSERT_EQ(seq, next_pop++);
  EXPECT_EQ(next_pop, next_push);
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(RecordRing, DrainCopiesEveryField) {
  RecordRing ring(2);
  AccessRecord in = http_record(42);
  set(in.error, "upstream-connect-failed");
  ASSERT_TRUE(ring.try_push(in));
  in = http_record(0);  // the ring holds its own copy
  size_t seen = 0;
  ring.drain([&](const AccessRecord& r) {
    ++seen;
    EXPECT_EQ(r.bytes_sent, 42u);
    EXPECT_EQ(r.request_id.view(), "req-42");
    EXPECT_EQ(r.path.view(), "/v1/items?id=7");
    EXPECT_EQ(r.error.view(), "upstream-connect-failed");
    EXPECT_EQ(r.upstream_duration_ns, 800'000);
  });
  EXPECT_EQ(seen, 1u);
}

TEST(RecordRing, ConcurrentProducerAndConsumerKeepOrder) {
  // A producer that retries when full, against a consumer draining in small
  // chunks: every record arrives once, in order, with its payload intact.
  RecordRing ring(64);
  constexpr uint64_t kRecords = 1'000'000;
  std::thread producer([&] {
    AccessRecord r = http_record(0);
    for (uint64_t i = 0; i < kRecords; ++i) {
      r.bytes_sent = i;
      r.bytes_received = ~i;
      while (!ring.try_push(r)) std::this_thread::yield();
    }
  });
  uint64_t next = 0;
  bool intact = true;
  while (next < kRecords) {
    const size_t n = ring.drain(
        [&](const AccessRecord& r) {
          intact = intact && r.bytes_sent == next && r.bytes_received == ~next;
          ++next;
        },
        7);
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT_TRUE(intact);
  EXPECT_EQ(next, kRecords);
  EXPECT_EQ(ring.size(), 0u);
}

TEST(FixedText, SetTruncatesAndMarks) {
  FixedText<8> f;
  set(f, "abcdefgh");
  EXPECT_EQ(f.view(), "abcdefgh");
  EXPECT_FALSE(f.truncated);
  set(f, "abcdefghi");
  EXPECT_EQ(f.view(), "abcdefgh");
  EXPECT_TRUE(f.truncated);
  set(f, "");
  EXPECT_TRUE(f.empty());
  EXPECT_FALSE(f.truncated);
}

TEST(FixedText, CutNeverSplitsAUtf8Sequence) {
  FixedText<8> f;
  // "abcdef" + U+00E9 (2 bytes) fits exactly; one more byte moves the cut.
  set(f, "abcdef\xC3\xA9");
  EXPECT_EQ(f.view(), "abcdef\xC3\xA9");
  set(f, "abcdefg\xC3\xA9");
  EXPECT_EQ(f.view(), "abcdefg");
  EXPECT_TRUE(f.truncated);
  // A 4-byte sequence straddling the end goes entirely.
  set(f, "abcdef\xF0\x9D\x84\x9E");
  EXPECT_EQ(f.view(), "abcdef");
  // Garbage continuation bytes: the cut backs off at most 3 bytes.
  set(f, std::string(12, '\x80'));
  EXPECT_EQ(f.view().size(), 5u);
}

TEST(FixedText, PathHoldsItsDocumentedMaximum) {
  AccessRecord r;
  set(r.path, std::string(AccessRecord::kPathMax, 'a'));
  EXPECT_FALSE(r.path.truncated);
  EXPECT_EQ(r.path.view().size(), AccessRecord::kPathMax);
  set(r.path, std::string(5000, 'b'));
  EXPECT_TRUE(r.path.truncated);
  EXPECT_EQ(r.path.view(), std::string(AccessRecord::kPathMax, 'b'));
}

}  // namespace
}  // namespace sluice::access_log
