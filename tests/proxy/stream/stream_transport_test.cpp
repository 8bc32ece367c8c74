// The Transport seam with a toy transport that XORs every byte with 0x5a:
// the peer must see encoded bytes, the owner decoded ones, whatever the
// moment the owner queues them, and a FIN must wait for the transport.
#include "proxy/stream/transport.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "proxy/stream/stream.hpp"
#include "tests/proxy/stream/stream_test_util.hpp"

namespace sluice::proxy {
namespace {

using test::pump_for;
using test::pump_until;
using test::take_input;

std::string xored(std::string bytes) {
  for (char& c : bytes) c = static_cast<char>(c ^ 0x5a);
  return bytes;
}

// Copies into owned chunks, as a TLS transport will (ciphertext and plaintext
// never share a buffer).
class XorTransport : public Transport {
 public:
  int on_received(BufferRing& buffers, uint16_t buffer, uint32_t length, ChunkQueue& in) override {
    std::string plain(reinterpret_cast<const char*>(buffers.data(buffer)), length);
    buffers.release(buffer);
    in.push_owned(xored(std::move(plain)));
    return fail_receive ? -EPROTO : 0;
  }
  ChunkQueue& wire(ChunkQueue& out, BufferRing& buffers) override {
    if (!hold && !out.empty()) {
      wire_.push_owned(xored(test::contents(out, buffers)));
      out.release_all(buffers);
    }
    return wire_;
  }
  // `hold` models a transport that cannot encode yet (mid-handshake).
  bool hold = false;
  bool fail_receive = false;
  ChunkQueue wire_;
};

class StreamTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = loop_.init(64, 16, 4096);
    if (!error.empty()) GTEST_SKIP() << error;
    auto [ours, theirs] = test::unix_pair();
    ASSERT_GE(ours.get(), 0);
    peer_ = std::move(theirs);
    stream_ = std::make_unique<Stream>(loop_, &owner_, ours.release());
    stream_->set_transport(&transport_);
  }
  void TearDown() override {
    if (stream_ != nullptr && owner_.closed == 0) {
      stream_->close();
      EXPECT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
    }
    transport_.wire_.release_all(loop_.buffers());
  }
  BufferRing& buffers() { return loop_.buffers(); }

  Loop loop_;
  XorTransport transport_;
  test::RecordingOwner owner_;
  test::Fd peer_;
  std::unique_ptr<Stream> stream_;
};

TEST_F(StreamTransportTest, OwnerReceivesDecodedBytes) {
  stream_->receive(true);
  const std::string plain = test::pattern(3 * 4096 + 17);
  std::string got;
  owner_.on_input = [&](Stream& s) { got += take_input(s, buffers()); };
  ASSERT_TRUE(test::write_while_pumping(loop_, peer_.get(), xored(plain)));
  ASSERT_TRUE(pump_until(loop_, [&] { return got.size() >= plain.size(); }));
  EXPECT_TRUE(got == plain);
  EXPECT_EQ(buffers().available(), 16u);  // the transport gave every buffer back
}

TEST_F(StreamTransportTest, PeerReceivesEncodedBytesIncludingThoseQueuedDuringASend) {
  stream_->out.push_owned("first");
  stream_->send();
  ASSERT_TRUE(stream_->sending());
  // The transport is not asked again until this send completes; these bytes
  // must still follow it.
  stream_->out.push_owned(" second");
  stream_->send();
  EXPECT_FALSE(stream_->drained());
  const std::string plain = "first second";
  EXPECT_EQ(test::read_while_pumping(loop_, peer_.get(), plain.size()), xored(plain));
  ASSERT_TRUE(pump_until(loop_, [&] { return stream_->drained(); }));
  EXPECT_TRUE(stream_->out.empty());
  EXPECT_TRUE(transport_.wire_.empty());
  EXPECT_GE(owner_.sent, 2);

  // Larger than the socket buffer takes at once, with partial sends.
  const std::string big = test::pattern(1 << 19);
  stream_->out.push_owned(big);
  stream_->send();
  const std::string got = test::read_while_pumping(loop_, peer_.get(), big.size());
  EXPECT_TRUE(got == xored(big));
}

TEST_F(StreamTransportTest, FinWaitsUntilTheTransportHasFlushedTheOwnersBytes) {
  transport_.hold = true;
  stream_->out.push_owned("bye");
  stream_->shutdown_after_send();
  pump_for(loop_, 50);
  bool eof = false;
  EXPECT_EQ(test::read_now(peer_.get(), &eof), "");
  EXPECT_FALSE(eof);  // no FIN ahead of bytes the transport still holds
  EXPECT_FALSE(stream_->shut());
  EXPECT_FALSE(stream_->drained());

  transport_.hold = false;
  stream_->send();
  const std::string got = test::read_while_pumping(loop_, peer_.get(), 0, true, &eof);
  EXPECT_EQ(got, xored("bye"));
  EXPECT_TRUE(eof);
  EXPECT_TRUE(stream_->shut());
}

TEST_F(StreamTransportTest, TransportErrorFailsTheStream) {
  transport_.fail_receive = true;
  stream_->receive(true);
  ASSERT_EQ(test::write_now(peer_.get(), xored("garbage")), 7u);
  ASSERT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
  EXPECT_EQ(owner_.errors, std::vector<int>{-EPROTO});
  EXPECT_EQ(owner_.events.back(), "closed");
  EXPECT_EQ(owner_.inputs, 0);  // a broken record is not input
}

}  // namespace
}  // namespace sluice::proxy
