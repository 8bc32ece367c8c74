// ChunkQueue: buffer references, consumption across chunks, moving chunks
// between queues, send preparation and byte counters. The buffers are those of
// a real BufferRing, but no receive is ever armed here: the tests hand buffer
// ids out themselves (on_received, as a receive completion would) and watch
// available() to see when one goes back to the ring. Adopted buffers (sluice's own bytes, as
// TLS plaintext) go the same way.
#include "proxy/core/chunk_queue.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

#include "proxy/core/loop.hpp"

namespace sluice::proxy {
namespace {

class ChunkQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = loop_.init(64, 16, 4096);
    if (!error.empty()) GTEST_SKIP() << error;
  }

  BufferRing& buffers() { return loop_.buffers(); }

  // Buffer `id` as a receive completion would hand it over, holding `bytes`.
  uint16_t receive(uint16_t id, std::string_view bytes) {
    buffers().on_received(id);
    std::memcpy(buffers().data(id), bytes.data(), bytes.size());
    return id;
  }

  std::string contents(const ChunkQueue& q) {
    std::string all;
    q.for_each_chunk(buffers(), [&](std::string_view chunk) {
      all += chunk;
      return true;
    });
    return all;
  }

  Loop loop_;
};

TEST_F(ChunkQueueTest, AnAdoptedBufferIsSlicedLikeAReceivedOneAndFreedByItsLastHolder) {
  const unsigned before = buffers().available();
  const uint16_t id = buffers().adopt("decrypted plaintext");
  ASSERT_NE(id, BufferRing::kNone);
  EXPECT_GE(id, buffers().count());  // never one of the kernel's
  EXPECT_EQ(buffers().available(), before);
  ChunkQueue in, out;
  in.push(id, 19);
  out.push_slice(buffers(), id, 10, 9);  // a body forwarded without a copy
  in.consume(19, buffers());
  EXPECT_EQ(buffers().adopted(), 1u);  // the slice still holds it
  EXPECT_EQ(contents(out), "plaintext");
  out.consume(9, buffers());
  EXPECT_EQ(buffers().adopted(), 0u);
  EXPECT_EQ(buffers().adopt("again"), id);  // the id is free for the next one
  buffers().release(id);
  EXPECT_EQ(buffers().available(), before);
}

TEST_F(ChunkQueueTest, BufferReturnsToTheRingOnlyWhenTheLastHolderReleasesIt) {
  const unsigned before = buffers().available();
  const uint16_t id = receive(3, "0123456789abcdefghij");
  EXPECT_EQ(buffers().available(), before - 1);
  ChunkQueue first, second, third;
  first.push(id, 20);
  second.push_slice(buffers(), id, 5, 5);   // its own reference
  third.push_slice(buffers(), id, 10, 10);  // and another
  EXPECT_EQ(contents(second), "56789");
  EXPECT_EQ(contents(third), "abcdefghij");

  // The receiver's reference goes first: the slices still point into the buffer.
  first.consume(20, buffers());
  EXPECT_EQ(buffers().available(), before - 1);
  second.release_all(buffers());
  EXPECT_EQ(buffers().available(), before - 1);
  // A partial consume keeps the chunk, and with it the reference.
  third.consume(9, buffers());
  EXPECT_EQ(buffers().available(), before - 1);
  EXPECT_EQ(contents(third), "j");
  third.consume(1, buffers());
  EXPECT_EQ(buffers().available(), before);
}

TEST_F(ChunkQueueTest, ConsumeWalksAcrossChunkBoundaries) {
  ChunkQueue q;
  q.push_owned("abc");
  q.push(receive(1, "defgh"), 5);
  q.push_owned("ij");
  const unsigned held = buffers().available();
  EXPECT_EQ(q.queued_bytes(), 10u);

  q.consume(2, buffers());
  EXPECT_EQ(q.front(buffers()), "c");
  EXPECT_FALSE(q.front_is_buffer());
  q.consume(3, buffers());  // the rest of "abc" and "de"
  EXPECT_EQ(q.front(buffers()), "fgh");
  ASSERT_TRUE(q.front_is_buffer());
  EXPECT_EQ(q.front_buffer(), 1u);
  EXPECT_EQ(q.front_offset(), 2u);
  EXPECT_EQ(buffers().available(), held);
  q.consume(4, buffers());  // "fgh" and "i": the buffer is emptied and released
  EXPECT_EQ(buffers().available(), held + 1);
  EXPECT_EQ(q.front(buffers()), "j");
  EXPECT_EQ(q.queued_bytes(), 1u);
  q.consume(1, buffers());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.queued_bytes(), 0u);
}

TEST_F(ChunkQueueTest, AppendMovesOwnedAndBufferChunksInOrder) {
  ChunkQueue to, from;
  to.push_owned("1");
  from.push_owned("xx2");
  from.consume(2, buffers());  // `from`'s first owned string is partly consumed
  from.push(receive(4, "3"), 1);
  from.push_owned("4");
  from.push(receive(5, "5"), 1);
  const unsigned held = buffers().available();

  to.append(from);
  EXPECT_EQ(contents(to), "12345");
  EXPECT_EQ(to.queued_bytes(), 5u);
  EXPECT_TRUE(from.empty());
  EXPECT_EQ(from.queued_bytes(), 0u);
  // The references moved: no retain, so consuming `to` alone gives both buffers back.
  to.release_all(buffers());
  EXPECT_EQ(buffers().available(), held + 2);

  // The emptied queue is usable again.
  from.push_owned("again");
  EXPECT_EQ(contents(from), "again");
}

TEST_F(ChunkQueueTest, SwapExchangesQueuedBytes) {
  ChunkQueue a, b;
  a.push_owned("a1");
  a.push(receive(6, "a2"), 2);
  b.push_owned("b1");
  const unsigned held = buffers().available();
  a.swap(b);
  EXPECT_EQ(contents(a), "b1");
  EXPECT_EQ(contents(b), "a1a2");
  EXPECT_EQ(a.queued_bytes(), 2u);
  EXPECT_EQ(b.queued_bytes(), 4u);
  a.release_all(buffers());
  EXPECT_EQ(buffers().available(), held);  // the buffer went with `b`
  b.release_all(buffers());
  EXPECT_EQ(buffers().available(), held + 1);
}

// Regression: swap() once exchanged queued bytes but not pushed_, so the
// queue that received bytes reported consumed_total() = pushed - queued < 0,
// wrapped to ~2^64 (Exchange::on_upstream_connected swaps a failed
// connection's `out` into a fresh queue).
TEST_F(ChunkQueueTest, SwapKeepsByteCountersConsistent) {
  ChunkQueue sent, fresh;
  sent.push_owned("request");
  fresh.swap(sent);
  EXPECT_LE(fresh.queued_bytes(), fresh.pushed_total());
  EXPECT_EQ(fresh.consumed_total(), 0u);
  EXPECT_LE(sent.consumed_total(), sent.pushed_total());
}

TEST_F(ChunkQueueTest, FillIovPointsAtMostMaxChunks) {
  ChunkQueue q;
  const int chunks = ChunkQueue::kMaxIov + 4;
  for (int i = 0; i < chunks; ++i) q.push_owned(std::string(1, static_cast<char>('a' + i)));
  q.consume(1, buffers());  // drop "a": the iovecs start at the queue's front
  q.push(receive(7, "XYZ"), 3);

  iovec iov[ChunkQueue::kMaxIov];
  int n = q.fill_iov(buffers(), iov, ChunkQueue::kMaxIov);
  ASSERT_EQ(n, ChunkQueue::kMaxIov);
  std::string pointed;
  size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    pointed.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    bytes += iov[i].iov_len;
  }
  EXPECT_EQ(pointed, std::string("bcdefghijklmnopq").substr(0, ChunkQueue::kMaxIov));

  // What the send did not reach comes next, including the buffer slice.
  q.consume(bytes, buffers());
  n = q.fill_iov(buffers(), iov, ChunkQueue::kMaxIov);
  ASSERT_EQ(n, 4);
  EXPECT_EQ(std::string_view(static_cast<const char*>(iov[3].iov_base), iov[3].iov_len), "XYZ");
  q.release_all(buffers());
}

TEST_F(ChunkQueueTest, CountsPushedAndConsumedBytes) {
  ChunkQueue q, other;
  q.push_owned("0123456789");
  q.push_owned("");  // nothing queued, nothing counted
  EXPECT_EQ(q.pushed_total(), 10u);
  q.consume(4, buffers());
  q.push(receive(8, "abcde"), 5);
  EXPECT_EQ(q.pushed_total(), 15u);
  EXPECT_EQ(q.consumed_total(), 4u);
  EXPECT_EQ(q.queued_bytes(), 11u);

  // Appending counts as pushed on the receiving side and as consumed on the giving one.
  other.push_owned("xy");
  other.append(q);
  EXPECT_EQ(other.pushed_total(), 13u);
  EXPECT_EQ(other.consumed_total(), 0u);
  EXPECT_EQ(q.pushed_total(), 15u);
  EXPECT_EQ(q.consumed_total(), 15u);
  other.release_all(buffers());
  EXPECT_EQ(other.consumed_total(), 13u);
}

TEST_F(ChunkQueueTest, AnEmptyQueueOwnsNoHeapMemory) {
  // Idle connections hold two queues each: they must cost no allocation.
  ChunkQueue q;
  EXPECT_EQ(q.queued_bytes(), 0u);
  q.push_owned("head");
  q.consume(4, buffers());
  EXPECT_TRUE(q.empty());
  q.push_owned("again");  // usable after draining
  EXPECT_EQ(q.front(buffers()), "again");
  q.release_all(buffers());
}

TEST_F(ChunkQueueTest, ManyOwnedChunksThatNeverDrainStayBounded) {
  // Push two, consume one, forever: the owned strings' storage must not grow.
  ChunkQueue q;
  q.push_owned("x");
  for (int i = 0; i < 10000; ++i) {
    q.push_owned("y");
    q.consume(1, buffers());
  }
  EXPECT_EQ(q.queued_bytes(), 1u);
  EXPECT_EQ(q.front(buffers()), "y");
  q.release_all(buffers());
}

TEST_F(ChunkQueueTest, GrowsPastSixteenChunksKeepingOrder) {
  ChunkQueue q;
  // Move the ring's head first, so growth has to unwrap it.
  for (int i = 0; i < 10; ++i) q.push_owned("-");
  q.consume(10, buffers());
  const unsigned before = buffers().available();
  std::string expected;
  for (int i = 0; i < 40; ++i) {
    const std::string piece = std::to_string(i) + ",";
    if (i % 5 == 0) {
      q.push(receive(static_cast<uint16_t>(i / 5), piece), static_cast<uint32_t>(piece.size()));
    } else {
      q.push_owned(piece);
    }
    expected += piece;
  }
  EXPECT_EQ(buffers().available(), before - 8);
  EXPECT_EQ(contents(q), expected);
  EXPECT_EQ(q.queued_bytes(), expected.size());
  // Consuming one byte at a time crosses every boundary of the grown ring.
  std::string consumed;
  while (!q.empty()) {
    consumed += q.front(buffers())[0];
    q.consume(1, buffers());
  }
  EXPECT_EQ(consumed, expected);
  EXPECT_EQ(buffers().available(), before);
}

}  // namespace
}  // namespace sluice::proxy
