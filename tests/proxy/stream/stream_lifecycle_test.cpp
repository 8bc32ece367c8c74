// Stream teardown, errors and connecting: close while busy or idle, an owner
// freeing the stream from on_stream_closed, a peer reset, connects that are
// refused, succeed or time out. Loopback TCP only where TCP is the point.
#include <poll.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "proxy/stream/stream.hpp"
#include "tests/proxy/stream/stream_test_util.hpp"

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;
using test::Fd;
using test::pump_for;
using test::pump_until;

class StreamLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = loop_.init(64, 16, 4096);
    if (!error.empty()) GTEST_SKIP() << error;
  }
  Loop loop_;
  test::RecordingOwner owner_;
};

TEST_F(StreamLifecycleTest, CloseWhileReceivingNotifiesOnceAndClosesTheSocket) {
  auto [ours, peer] = test::unix_pair();
  const int fd = ours.get();
  Stream stream(loop_, &owner_, ours.release());
  stream.receive(true);
  pump_for(loop_, 10);  // the multishot receive is armed

  stream.close();
  EXPECT_EQ(owner_.closed, 0);  // never from inside close()
  EXPECT_TRUE(stream.closing());
  stream.close();  // again: nothing more
  test::write_now(peer.get(), "in flight while cancelling");
  ASSERT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(owner_.events, std::vector<std::string>{"closed"});
  EXPECT_FALSE(test::fd_open(fd));
  EXPECT_EQ(stream.fd(), -1);

  // The peer sees the socket end. Not necessarily at once: when bytes race the
  // cancel, the kernel drops its last reference to the socket during a later
  // io_uring_enter, so the loop has to run (see the report).
  bool eof = false;
  ASSERT_TRUE(pump_until(loop_, [&] {
    test::read_now(peer.get(), &eof);
    return eof;
  }));
  // Nothing after on_stream_closed, whatever the peer does.
  test::write_now(peer.get(), "too late");
  pump_for(loop_, 50);
  EXPECT_EQ(owner_.callbacks(), 1u);
  EXPECT_EQ(loop_.buffers().available(), 16u);  // bytes that raced the cancel were released
}

TEST_F(StreamLifecycleTest, CloseOfAnIdleStreamNotifiesFromTheLoop) {
  auto [ours, peer] = test::unix_pair();
  const int fd = ours.get();
  Stream stream(loop_, &owner_, ours.release());
  stream.out.push_owned("never sent");  // queued but never sent: released on close
  stream.close();
  EXPECT_EQ(owner_.closed, 0);
  ASSERT_TRUE(loop_.run_once(0));
  EXPECT_EQ(owner_.closed, 1);
  EXPECT_FALSE(test::fd_open(fd));
  EXPECT_TRUE(stream.out.empty());
  pump_for(loop_, 20);
  EXPECT_EQ(owner_.callbacks(), 1u);
}

// Run under ASan: anything the stream touches after the callback is a use after free.
TEST_F(StreamLifecycleTest, OwnerMayDeleteTheStreamInOnStreamClosed) {
  for (const bool busy : {false, true}) {
    SCOPED_TRACE(busy ? "receive armed, send in flight" : "idle");
    test::RecordingOwner owner;
    bool deleted = false;
    owner.on_closed = [&](Stream& s) {
      delete &s;
      deleted = true;
    };
    auto [ours, peer] = test::unix_pair();
    auto* stream = new Stream(loop_, &owner, ours.release());
    if (busy) {
      stream->receive(true);
      stream->out.push_owned(test::pattern(1 << 20));  // more than the socket buffer takes
      stream->send();
      pump_for(loop_, 10);
      ASSERT_TRUE(stream->sending());
    }
    stream->close();
    ASSERT_TRUE(pump_until(loop_, [&] { return deleted; }));
    EXPECT_EQ(owner.closed, 1);
    pump_for(loop_, 20);  // stray completions for a freed stream would crash here
  }
  EXPECT_EQ(loop_.buffers().available(), 16u);
}

TEST_F(StreamLifecycleTest, PeerResetIsAnErrorThenTheStreamCloses) {
  auto [ours, peer] = test::tcp_pair();
  ASSERT_GE(peer.get(), 0);
  auto* stream = new Stream(loop_, &owner_, ours.release());
  owner_.on_closed = [](Stream& s) { delete &s; };  // the usual owner's reaction
  stream->receive(true);
  pump_for(loop_, 10);
  test::reset_close(peer);
  ASSERT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(owner_.errors, std::vector<int>{-ECONNRESET});
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"error", "closed"}));
}

TEST_F(StreamLifecycleTest, ConnectToAClosedPortIsRefused) {
  uint16_t port = 0;
  Fd bound = test::bound_loopback(&port, -1);  // bound, not listening: the kernel answers RST
  ASSERT_GE(bound.get(), 0);
  Stream stream(loop_, &owner_);
  stream.receive(true);
  ASSERT_EQ(stream.connect(test::loopback_address(port), 1000ms), 0);
  ASSERT_TRUE(pump_until(loop_, [&] { return !owner_.connects.empty(); }));
  EXPECT_EQ(owner_.connects, std::vector<int>{-ECONNREFUSED});
  EXPECT_FALSE(stream.connected());
  stream.close();
  ASSERT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(owner_.events, (std::vector<std::string>{"connected", "closed"}));
}

TEST_F(StreamLifecycleTest, ConnectSendsWhatWasQueuedAndStartsReceiving) {
  uint16_t port = 0;
  Fd listener = test::bound_loopback(&port, 4);
  ASSERT_GE(listener.get(), 0);
  Stream stream(loop_, &owner_);
  stream.receive(true);  // wanted before the socket exists
  stream.out.push_owned("early bytes");
  stream.send();  // not connected yet: waits
  EXPECT_FALSE(stream.sending());
  ASSERT_EQ(stream.connect(test::loopback_address(port), 1000ms), 0);
  Fd peer = test::accept_while_pumping(loop_, listener.get());
  ASSERT_GE(peer.get(), 0);
  ASSERT_TRUE(pump_until(loop_, [&] { return !owner_.connects.empty(); }));
  EXPECT_EQ(owner_.connects, std::vector<int>{0});
  EXPECT_TRUE(stream.connected());
  EXPECT_EQ(test::read_while_pumping(loop_, peer.get(), 11), "early bytes");
  ASSERT_EQ(test::write_now(peer.get(), "answer"), 6u);
  ASSERT_TRUE(pump_until(loop_, [&] { return stream.in.queued_bytes() == 6; }));
  stream.close();
  ASSERT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
}

// A listener whose accept queue is full drops further SYNs, so a connect to it
// hangs until its timeout. Returns an invalid listener when the kernel does
// not behave that way here (the test then skips).
struct Blackhole {
  Fd listener;
  std::vector<Fd> fillers;
  uint16_t port = 0;
};

Blackhole make_blackhole() {
  Blackhole b;
  b.listener = test::bound_loopback(&b.port, 0);  // backlog 0 still queues one
  if (b.listener.get() < 0) return {};
  for (int i = 0; i < 8; ++i) {
    Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in a = test::loopback(b.port);
    ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    pollfd p{s.get(), POLLOUT, 0};
    const bool connected = ::poll(&p, 1, 200) == 1;
    b.fillers.push_back(std::move(s));
    if (!connected) return b;  // this SYN went unanswered: the queue is full
  }
  return {};
}

TEST_F(StreamLifecycleTest, ConnectTimesOutAgainstAFullAcceptQueue) {
  Blackhole hole = make_blackhole();
  if (hole.listener.get() < 0) GTEST_SKIP() << "could not fill a loopback accept queue";
  Stream stream(loop_, &owner_);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(stream.connect(test::loopback_address(hole.port), 100ms), 0);
  ASSERT_TRUE(pump_until(loop_, [&] { return !owner_.connects.empty(); }));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(owner_.connects, std::vector<int>{-ETIMEDOUT});
  EXPECT_GE(elapsed, 90ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_FALSE(stream.connected());
  stream.close();
  ASSERT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
}

}  // namespace
}  // namespace sluice::proxy
