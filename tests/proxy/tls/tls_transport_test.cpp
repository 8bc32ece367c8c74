// TlsTransport under a real Stream over a socketpair, with an OpenSSL client in the test on
// the other end: the handshake needs no send from the owner, plaintext flows both ways in
// pieces of any size, the handshake's facts reach the stream, a FIN follows a close_notify,
// a stalled handshake times out, and garbage fails the stream.
#include "proxy/tls/tls_transport.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "tests/proxy/stream/stream_test_util.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_certs.hpp"

namespace sluice::proxy::tls {
namespace {

using test::pump_until;

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = loop_.init(64, 16, 4096);
    if (!error.empty()) GTEST_SKIP() << error;
    pki_ = std::make_unique<testing::TestPki>(dir_.path());
    const testing::CertFiles cert = pki_->leaf("srv", "srv", {"srv.test"});
    config::Tls tls;
    tls.certificates.push_back({cert.cert, cert.key, {"srv.test"}, {}, {}});
    tls.alpn = {"http/1.1"};
    tls.handshake_timeout = config::Duration(200);
    config::Diagnostic failed;
    listener_ =
        ListenerTls::build(tls, std::make_shared<TicketKeys>(std::chrono::hours(1)), failed);
    ASSERT_NE(listener_, nullptr) << failed.to_string();
    auto [ours, theirs] = test::unix_pair();
    peer_ = std::move(theirs);
    stream_ = std::make_unique<Stream>(loop_, &owner_, ours.release());
    TlsTransport::attach(loop_, *stream_, listener_, &counters_);
    stream_->receive(true);

    client_ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(client_ctx_, pki_->ca_cert().c_str(), nullptr);
    SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_PEER, nullptr);
    client_ = SSL_new(client_ctx_);
    SSL_set_fd(client_, peer_.get());
    SSL_set_tlsext_host_name(client_, "srv.test");
    static const unsigned char kAlpn[] = "\x08http/1.1";
    SSL_set_alpn_protos(client_, kAlpn, sizeof kAlpn - 1);
    SSL_set_connect_state(client_);
  }
  void TearDown() override {
    if (client_ != nullptr) SSL_free(client_);
    if (client_ctx_ != nullptr) SSL_CTX_free(client_ctx_);
    if (stream_ != nullptr && owner_.closed == 0) {
      stream_->close();
      EXPECT_TRUE(pump_until(loop_, [&] { return owner_.closed > 0; }));
    }
  }
  bool handshake() {
    return pump_until(loop_, [&] {
      ERR_clear_error();
      return SSL_do_handshake(client_) == 1;
    });
  }
  std::string client_read(size_t size) {
    std::string got;
    char buf[16384];
    pump_until(loop_, [&] {
      size_t n = 0;
      while (SSL_read_ex(client_, buf, sizeof buf, &n) == 1) got.append(buf, n);
      ERR_clear_error();
      return got.size() >= size;
    });
    return got;
  }

  Loop loop_;
  testing::TempDir dir_{"tls-unit"};
  std::unique_ptr<testing::TestPki> pki_;
  std::shared_ptr<const ListenerTls> listener_;
  metrics::TlsCounters counters_;
  test::RecordingOwner owner_;
  test::Fd peer_;
  std::unique_ptr<Stream> stream_;
  SSL_CTX* client_ctx_ = nullptr;
  SSL* client_ = nullptr;
};

TEST_F(TlsTransportTest, HandshakesAloneAndFillsTheFacts) {
  ASSERT_TRUE(handshake());
  EXPECT_EQ(SSL_get_verify_result(client_), X509_V_OK);
  // The server's side completes once the client's Finished arrives.
  ASSERT_TRUE(pump_until(loop_, [&] { return counters_.handshakes.value() == 1; }));
  ASSERT_NE(stream_->facts(), nullptr);
  EXPECT_TRUE(stream_->facts()->tls);
  EXPECT_EQ(stream_->facts()->sni, "srv.test");
  EXPECT_EQ(stream_->facts()->alpn, "http/1.1");
  EXPECT_STREQ(stream_->facts()->tls_version, "TLSv1.3");
  EXPECT_EQ(counters_.resumed.value(), 0u);
}

TEST_F(TlsTransportTest, PlaintextFlowsBothWays) {
  ASSERT_TRUE(handshake());
  const std::string up = test::pattern(100000, 1);
  size_t written = 0;
  ASSERT_TRUE(pump_until(loop_, [&] {
    size_t n = 0;
    while (written < up.size() &&
           SSL_write_ex(client_, up.data() + written, std::min<size_t>(up.size() - written, 7000),
                        &n) == 1)
      written += n;
    ERR_clear_error();
    return written == up.size() && stream_->in.queued_bytes() >= up.size();
  }));
  EXPECT_EQ(test::take_input(*stream_, loop_.buffers()), up);
  const std::string down = test::pattern(300000, 2);
  stream_->out.push_owned(down.substr(0, 1000));
  stream_->out.push_owned(down.substr(1000));
  stream_->send();
  EXPECT_EQ(client_read(down.size()), down);
  // A FIN after our close_notify: the client reads a clean end.
  stream_->shutdown_after_send();
  ASSERT_TRUE(pump_until(loop_, [&] {
    char c;
    size_t n = 0;
    const int r = SSL_read_ex(client_, &c, 1, &n);
    const int e = SSL_get_error(client_, r);
    ERR_clear_error();
    return e == SSL_ERROR_ZERO_RETURN;
  }));
}

TEST_F(TlsTransportTest, AStalledHandshakeTimesOut) {
  // The client says nothing.
  ASSERT_TRUE(pump_until(
      loop_,
      [&] {
        loop_.expire_timers();  // the worker's tick does this
        return !owner_.errors.empty();
      },
      2000));
  EXPECT_EQ(owner_.errors[0], -ETIMEDOUT);
  EXPECT_EQ(counters_.failures[static_cast<size_t>(metrics::TlsFailure::timeout)].value(), 1u);
}

TEST_F(TlsTransportTest, GarbageFailsTheStream) {
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(peer_.get(), http.data(), http.size(), 0), static_cast<ssize_t>(http.size()));
  ASSERT_TRUE(pump_until(loop_, [&] { return !owner_.errors.empty(); }));
  EXPECT_EQ(owner_.errors[0], -EPROTO);
  EXPECT_EQ(counters_.failures[static_cast<size_t>(metrics::TlsFailure::not_tls)].value(), 1u);
  EXPECT_TRUE(stream_->in.empty());  // nothing reached the owner as plaintext
}

}  // namespace
}  // namespace sluice::proxy::tls
