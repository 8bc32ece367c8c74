// Stream moving bytes over a socketpair whose far end the test drives with
// plain syscalls: receive, send, pause/resume, waiting for receive buffers,
// half-close in both directions.
#include <sys/ioctl.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "proxy/stream/stream.hpp"
#include "tests/proxy/stream/stream_test_util.hpp"

namespace sluice::proxy {
namespace {

using test::pump_for;
using test::pump_until;
using test::take_input;

class StreamIoTest : public ::testing::Test {
 protected:
  virtual unsigned buffer_count() const { return 16; }

  void SetUp() override {
    const std::string error = loop_.init(64, buffer_count(), kBufferSize);
    if (!error.empty()) GTEST_SKIP() << error;
    auto [ours, theirs] = test::unix_pair();
    ASSERT_GE(ours.get(), 0);
    peer_ = std::move(theirs);
    stream_ = std::make_unique<Stream>(loop_, &owner_, ours.release());
  }

  // A Stream may only be destroyed once the kernel returned its operations.
  void TearDown() override {
    if (stream_ == nullptr || owner_.closed > 0) return;
    stream_->close();
    EXPECT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
  }

  BufferRing& buffers() { return loop_.buffers(); }
  // Bytes the kernel holds for the stream's socket that it has not received yet.
  int unread_in_kernel() {
    int n = -1;
    ioctl(stream_->fd(), FIONREAD, &n);
    return n;
  }

  static constexpr unsigned kBufferSize = 4096;
  Loop loop_;
  test::RecordingOwner owner_;
  test::Fd peer_;
  std::unique_ptr<Stream> stream_;
};

TEST_F(StreamIoTest, ReceivedBytesLandInInAndTellTheOwner) {
  stream_->receive(true);
  ASSERT_EQ(test::write_now(peer_.get(), "hello"), 5u);
  ASSERT_TRUE(pump_until(loop_, [&] { return stream_->in.queued_bytes() == 5; }));
  EXPECT_GE(owner_.inputs, 1);
  EXPECT_EQ(take_input(*stream_, buffers()), "hello");

  // Larger than one receive buffer: it spreads over several, in order.
  const std::string big = test::pattern(5 * kBufferSize + 123);
  std::string got;
  owner_.on_input = [&](Stream& s) { got += take_input(s, buffers()); };
  ASSERT_TRUE(test::write_while_pumping(loop_, peer_.get(), big));
  ASSERT_TRUE(pump_until(loop_, [&] { return got.size() >= big.size(); }));
  EXPECT_EQ(got, big);
  EXPECT_EQ(buffers().available(), buffer_count());  // every buffer went back
  EXPECT_TRUE(owner_.errors.empty());
  EXPECT_EQ(owner_.eofs, 0);
}

TEST_F(StreamIoTest, SendsOwnedBytesAndBufferSlicesInOrder) {
  stream_->receive(true);
  ASSERT_EQ(test::write_now(peer_.get(), "0123456789"), 10u);
  ASSERT_TRUE(pump_until(loop_, [&] { return stream_->in.queued_bytes() == 10; }));
  ASSERT_TRUE(stream_->in.front_is_buffer());
  ASSERT_EQ(stream_->in.front(buffers()).size(), 10u);

  // Forward part of the received buffer without copying, between owned bytes,
  // then let `in` go: the slice keeps the buffer.
  stream_->out.push_owned("head:");
  stream_->out.push_slice(buffers(), stream_->in.front_buffer(), stream_->in.front_offset() + 2, 5);
  stream_->in.release_all(buffers());
  std::string expected = "head:23456";
  // More chunks than one send takes (kMaxIov).
  for (int i = 0; i < 3 * ChunkQueue::kMaxIov; ++i) {
    stream_->out.push_owned("<" + std::to_string(i) + ">");
    expected += "<" + std::to_string(i) + ">";
  }
  stream_->send();
  EXPECT_TRUE(stream_->sending());
  // Queued while a send is in flight: goes after it.
  stream_->out.push_owned(":tail");
  stream_->send();
  expected += ":tail";

  EXPECT_EQ(test::read_while_pumping(loop_, peer_.get(), expected.size()), expected);
  ASSERT_TRUE(pump_until(loop_, [&] { return stream_->drained(); }));
  EXPECT_GE(owner_.sent, 3);  // 3 * kMaxIov + 2 chunks cannot go in fewer sends
  EXPECT_TRUE(stream_->out.empty());
  EXPECT_EQ(buffers().available(), buffer_count());  // the slice was released once sent
}

TEST_F(StreamIoTest, PauseLeavesBytesInTheKernelAndResumeDeliversThem) {
  stream_->receive(true);
  ASSERT_EQ(test::write_now(peer_.get(), "a"), 1u);
  ASSERT_TRUE(pump_until(loop_, [&] { return stream_->in.queued_bytes() == 1; }));

  stream_->receive(false);
  pump_for(loop_, 20);  // the cancel lands
  const int inputs = owner_.inputs;
  ASSERT_EQ(test::write_now(peer_.get(), "bcd"), 3u);
  pump_for(loop_, 100);
  EXPECT_EQ(owner_.inputs, inputs);
  EXPECT_EQ(stream_->in.queued_bytes(), 1u);
  EXPECT_EQ(unread_in_kernel(), 3);

  stream_->receive(true);
  ASSERT_TRUE(pump_until(loop_, [&] { return stream_->in.queued_bytes() == 4; }));
  EXPECT_EQ(take_input(*stream_, buffers()), "abcd");
  EXPECT_TRUE(owner_.errors.empty());
}

TEST_F(StreamIoTest, ResumeBeforeThePauseLandsKeepsReceiving) {
  stream_->receive(true);
  pump_for(loop_, 10);  // armed
  stream_->receive(false);
  stream_->receive(true);  // the cancel is still on its way
  pump_for(loop_, 20);
  ASSERT_EQ(test::write_now(peer_.get(), "still"), 5u);
  ASSERT_TRUE(pump_until(loop_, [&] { return stream_->in.queued_bytes() == 5; }));
  EXPECT_EQ(take_input(*stream_, buffers()), "still");
}

TEST_F(StreamIoTest, PeerHalfCloseIsEofAndSendingGoesOn) {
  stream_->receive(true);
  ASSERT_EQ(test::write_now(peer_.get(), "bye"), 3u);
  ASSERT_EQ(shutdown(peer_.get(), SHUT_WR), 0);
  ASSERT_TRUE(pump_until(loop_, [&] { return stream_->eof(); }));
  EXPECT_EQ(owner_.eofs, 1);
  EXPECT_EQ(owner_.events.back(), "eof");  // the owner heard of it
  EXPECT_EQ(take_input(*stream_, buffers()), "bye");
  EXPECT_TRUE(owner_.errors.empty());

  stream_->out.push_owned("reply");
  stream_->send();
  EXPECT_EQ(test::read_while_pumping(loop_, peer_.get(), 5), "reply");
}

TEST_F(StreamIoTest, ShutdownAfterSendSendsEverythingThenFin) {
  stream_->receive(true);
  const std::string data = test::pattern(100000);
  stream_->out.push_owned(data);
  stream_->shutdown_after_send();
  EXPECT_FALSE(stream_->shut());  // not while the bytes are still queued

  bool eof = false;
  const std::string got = test::read_while_pumping(loop_, peer_.get(), 0, true, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  EXPECT_TRUE(stream_->shut());

  // Only our direction ended: the peer may still talk.
  ASSERT_EQ(test::write_now(peer_.get(), "late"), 4u);
  ASSERT_TRUE(pump_until(loop_, [&] { return stream_->in.queued_bytes() == 4; }));
  EXPECT_TRUE(owner_.errors.empty());
}

// A ring of 8 buffers: enough that the loop wakes waiters only once one is back
// (it wakes them at count / 8 available).
class TinyRingStreamTest : public StreamIoTest {
 protected:
  unsigned buffer_count() const override { return 8; }
};

TEST_F(TinyRingStreamTest, WaitsForBuffersAndResumesOnceTheyAreReleased) {
  const std::string data = test::pattern(2 * 8 * kBufferSize);
  ASSERT_EQ(test::write_now(peer_.get(), data), data.size());  // fits the socket buffer
  stream_->receive(true);
  // Nobody consumes: every buffer ends up in `in` and the receive stops (-ENOBUFS).
  ASSERT_TRUE(pump_until(loop_, [&] { return buffers().available() == 0; }));
  pump_for(loop_, 20);
  const size_t held = stream_->in.queued_bytes();
  const int inputs = owner_.inputs;
  pump_for(loop_, 100);
  EXPECT_EQ(stream_->in.queued_bytes(), held);
  EXPECT_EQ(owner_.inputs, inputs);
  EXPECT_LE(held, 8u * kBufferSize);
  EXPECT_EQ(unread_in_kernel(), static_cast<int>(data.size() - held));
  EXPECT_TRUE(owner_.errors.empty());  // waiting is not a failure
  EXPECT_FALSE(stream_->closing());
  // Waiting is quiet: with nothing to do, run_once sleeps for its timeout.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(loop_.run_once(20));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));

  // Releasing from outside any completion: the next loop iterations re-arm.
  std::string got = take_input(*stream_, buffers());
  owner_.on_input = [&](Stream& s) { got += take_input(s, buffers()); };
  ASSERT_TRUE(pump_until(loop_, [&] { return got.size() >= data.size(); }));
  EXPECT_TRUE(got == data);
  EXPECT_EQ(unread_in_kernel(), 0);
}

class FourBufferStreamTest : public StreamIoTest {
 protected:
  unsigned buffer_count() const override { return 4; }
};

// Regression: with fewer than 8 buffers the loop's wake threshold (count / 8)
// was 0, so a stream waiting for buffers was woken on every iteration with
// none available, re-armed, got -ENOBUFS at once, and the loop spun instead
// of sleeping.
TEST_F(FourBufferStreamTest, WaitingForBuffersLetsTheLoopSleep) {
  ASSERT_EQ(test::write_now(peer_.get(), test::pattern(4 * 4 * kBufferSize)), 4u * 4 * kBufferSize);
  stream_->receive(true);
  ASSERT_TRUE(pump_until(loop_, [&] { return buffers().available() == 0; }));
  pump_for(loop_, 20);
  // Nothing can happen now, so each run_once must wait for its whole timeout.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(loop_.run_once(20));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90));
}

}  // namespace
}  // namespace sluice::proxy
