// TlsTransport as a client (TLS to an upstream) under a real Stream that connects to a loopback
// listener, with an OpenSSL server in the test on the accepted end: clear bytes go first, the
// stream reports its connect only once the handshake is done, plaintext flows both ways, the
// endpoint's session is kept and resumes the next connection, and a certificate for another
// name fails the stream with reason "verify".
#include <gtest/gtest.h>
#include <openssl/err.h>

#include "proxy/tls/cluster_tls.hpp"
#include "proxy/tls/tls_transport.hpp"
#include "tests/proxy/stream/stream_test_util.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_certs.hpp"

namespace sluice::proxy::tls {
namespace {

using test::pump_until;

class ClientTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = loop_.init(64, 16, 4096);
    if (!error.empty()) GTEST_SKIP() << error;
    pki_ = std::make_unique<testing::TestPki>(dir_.path());
    const testing::CertFiles cert = pki_->leaf("up", "up", {"up.test"});
    server_ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_chain_file(server_ctx_, cert.cert.c_str());
    SSL_CTX_use_PrivateKey_file(server_ctx_, cert.key.c_str(), SSL_FILETYPE_PEM);
    listener_ = test::bound_loopback(&port_, 4);
  }
  void TearDown() override {
    if (server_ != nullptr) SSL_free(server_);
    if (server_ctx_ != nullptr) SSL_CTX_free(server_ctx_);
    if (stream_ != nullptr && owner_.closed == 0) {
      stream_->close();
      EXPECT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
    }
  }

  std::shared_ptr<const ClusterTls> cluster(const std::string& sni) {
    config::UpstreamTls tls;
    tls.sni = sni;
    tls.ca_path = pki_->ca_cert();
    config::Diagnostic failed;
    auto built = ClusterTls::build("c", tls, failed);
    EXPECT_NE(built, nullptr) << failed.to_string();
    return built;
  }

  // A new stream connecting to the listener with a client transport, `clear` first; the test's
  // server end is accepted and, after reading `clear`, starts its side of the handshake.
  void connect(std::shared_ptr<const ClusterTls> tls, const std::string& clear) {
    if (stream_ != nullptr) {
      stream_->close();
      ASSERT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
    }
    owner_ = test::RecordingOwner();
    if (server_ != nullptr) SSL_free(server_);
    server_ = nullptr;
    const config::Address address = test::loopback_address(port_);
    stream_ = std::make_unique<Stream>(loop_, &owner_);
    stream_->own_transport(
        std::make_unique<TlsTransport>(loop_, *stream_, tls, address, clear, 2000, &counters_));
    stream_->receive(true);
    ASSERT_EQ(stream_->connect(address, config::Duration(2000)), 0);
    accepted_ = test::accept_while_pumping(loop_, listener_.get());
    ASSERT_GE(accepted_.get(), 0);
    EXPECT_EQ(read_exactly(clear.size()), clear);
    server_ = SSL_new(server_ctx_);
    SSL_set_fd(server_, accepted_.get());
    SSL_set_accept_state(server_);
  }
  // Exactly `size` bytes from the accepted end: the ClientHello right behind stays unread.
  std::string read_exactly(size_t size) {
    std::string got(size, '\0');
    size_t done = 0;
    pump_until(loop_, [&] {
      const ssize_t n = ::recv(accepted_.get(), got.data() + done, size - done, MSG_DONTWAIT);
      if (n > 0) done += static_cast<size_t>(n);
      return done == size;
    });
    got.resize(done);
    return got;
  }
  // Pumps both ends until the stream reported its connect (or failed).
  bool handshake() {
    return pump_until(loop_, [&] {
      SSL_do_handshake(server_);
      ERR_clear_error();
      return !owner_.connects.empty() || !owner_.errors.empty();
    });
  }
  std::string server_read(size_t size) {
    std::string got;
    char buf[16384];
    pump_until(loop_, [&] {
      size_t n = 0;
      while (SSL_read_ex(server_, buf, sizeof buf, &n) == 1) got.append(buf, n);
      ERR_clear_error();
      return got.size() >= size;
    });
    return got;
  }

  Loop loop_;
  testing::TempDir dir_{"tls-client-unit"};
  std::unique_ptr<testing::TestPki> pki_;
  SSL_CTX* server_ctx_ = nullptr;
  SSL* server_ = nullptr;
  test::Fd listener_;
  test::Fd accepted_;
  uint16_t port_ = 0;
  metrics::TlsCounters counters_;
  test::RecordingOwner owner_;
  std::unique_ptr<Stream> stream_;
};

TEST_F(ClientTransportTest, ClearBytesThenTheHandshakeThenPlaintextBothWays) {
  const auto tls = cluster("up.test");
  connect(tls, "PROXY UNKNOWN\r\n");
  // What the owner queued before the handshake waits for it.
  stream_->out.push_owned("GET / HTTP/1.1\r\n\r\n");
  stream_->send();
  ASSERT_TRUE(handshake());
  ASSERT_EQ(owner_.connects.size(), 1u);
  EXPECT_EQ(owner_.connects[0], 0);
  EXPECT_EQ(counters_.handshakes.value(), 1u);
  EXPECT_EQ(server_read(18), "GET / HTTP/1.1\r\n\r\n");
  const std::string down = test::pattern(100000, 3);
  size_t written = 0;
  ASSERT_TRUE(pump_until(loop_, [&] {
    size_t n = 0;
    while (written < down.size() &&
           SSL_write_ex(server_, down.data() + written,
                        std::min<size_t>(down.size() - written, 5000), &n) == 1)
      written += n;
    ERR_clear_error();
    return written == down.size() && stream_->in.queued_bytes() >= down.size();
  }));
  EXPECT_EQ(test::take_input(*stream_, loop_.buffers()), down);
  EXPECT_EQ(stream_->facts(), nullptr);  // an upstream's TLS facts are no client's
}

TEST_F(ClientTransportTest, TheNextConnectionResumesTheEndpointsSession) {
  const auto tls = cluster("up.test");
  connect(tls, "");
  ASSERT_TRUE(handshake());
  // TLS 1.3 tickets come after the handshake; the stream reads them like any record.
  ASSERT_TRUE(pump_until(loop_, [&] {
    SSL_do_handshake(server_);
    ERR_clear_error();
    return tls->sessions() == 1;
  }));
  connect(tls, "");
  ASSERT_TRUE(handshake());
  EXPECT_EQ(counters_.handshakes.value(), 2u);
  EXPECT_EQ(counters_.resumed.value(), 1u);
  EXPECT_EQ(SSL_session_reused(server_), 1);
}

TEST_F(ClientTransportTest, ACertificateForAnotherNameFailsTheConnect) {
  connect(cluster("other.test"), "");
  ASSERT_TRUE(handshake());
  EXPECT_TRUE(owner_.connects.empty());
  ASSERT_EQ(owner_.errors.size(), 1u);
  EXPECT_EQ(owner_.errors[0], -EPROTO);
  EXPECT_EQ(counters_.failures[static_cast<size_t>(metrics::TlsFailure::verify)].value(), 1u);
  EXPECT_EQ(counters_.handshakes.value(), 0u);
}

}  // namespace
}  // namespace sluice::proxy::tls
