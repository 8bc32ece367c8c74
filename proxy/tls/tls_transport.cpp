#include "proxy/tls/tls_transport.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "proxy/core/log.hpp"
#include "proxy/tls/handshake_failure.hpp"
#include "proxy/tls/stream_bio.hpp"

namespace sluice::proxy::tls {
namespace {

// Plaintext one wire() call encrypts at most: the rest waits for the send to complete, so the
// ciphertext queued per connection stays bounded like the plaintext is.
constexpr size_t kPlainPerWire = 128 * 1024;

// RFC 2253 with control characters and non-ASCII escaped: safe as a header value.
std::string subject_of(X509* cert) {
  BIO* out = BIO_new(BIO_s_mem());
  if (out == nullptr) return {};
  X509_NAME_print_ex(out, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<size_t>(std::max<long>(size, 0)));
  BIO_free(out);
  std::erase_if(text, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  return text;
}

}  // namespace

TlsTransport::TlsTransport(Loop& loop, Stream& stream, std::shared_ptr<const void> contexts,
                           SSL* ssl, metrics::TlsCounters* counters)
    : loop_(loop), stream_(stream), contexts_(std::move(contexts)), counters_(counters), ssl_(ssl) {
  if (ssl_ != nullptr) {
    BIO* bio = new_stream_bio(*this);
    SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL_free frees it once
  }
}

TlsTransport::TlsTransport(Loop& loop, Stream& stream, std::shared_ptr<const ListenerTls> tls,
                           metrics::TlsCounters* counters)
    : TlsTransport(loop, stream, tls, tls->new_ssl(), counters) {
  listener_ = tls.get();
  if (ssl_ != nullptr) SSL_set_accept_state(ssl_);
  started_ = true;  // the client speaks first; its time runs from the accept
  const auto timeout = static_cast<uint64_t>(listener_->config().handshake_timeout.count());
  loop_.timers(timeout).start(handshake_timer_, loop_.now_ms());
}

TlsTransport::TlsTransport(Loop& loop, Stream& stream, std::shared_ptr<const ClusterTls> tls,
                           const config::Address& endpoint, std::string clear, uint64_t timeout_ms,
                           metrics::TlsCounters* counters)
    : TlsTransport(loop, stream, tls, tls->new_ssl(endpoint), counters) {
  cluster_ = tls.get();
  endpoint_ = endpoint.text;
  timeout_ms_ = timeout_ms;
  if (!clear.empty()) wire_.push_owned(std::move(clear));
}

TlsTransport::~TlsTransport() {
  TimerList::stop(handshake_timer_);
  if (started_ && !established_ && !failed_ && counters_ != nullptr)
    counters_->failed(metrics::TlsFailure::closed);
  // A pooled connection mostly ends without a close_notify (idle timeout, the endpoint's FIN):
  // OpenSSL would then mark its session, the one kept for the endpoint, not resumable.
  if (ssl_ != nullptr && cluster_ != nullptr && established_)
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  if (ssl_ != nullptr) SSL_free(ssl_);
  cipher_in_.release_all(loop_.buffers());
  wire_.release_all(loop_.buffers());
}

int TlsTransport::attach(Loop& loop, Stream& stream, std::shared_ptr<const ListenerTls> tls,
                         metrics::TlsCounters* counters) {
  auto owned = std::make_unique<TlsTransport>(loop, stream, std::move(tls), counters);
  TlsTransport& transport = *owned;
  stream.own_transport(std::move(owned));
  if (stream.in.empty()) return 0;
  transport.cipher_in_.append(stream.in);
  const int result = transport.advance(stream.in);
  if (result == 0) stream.send();  // the server's first flight
  return result;
}

int TlsTransport::on_received(BufferRing&, uint16_t buffer, uint32_t length, ChunkQueue& in) {
  cipher_in_.push(buffer, length);
  return advance(in);
}

int TlsTransport::advance(ChunkQueue& in) {
  if (failed_ || ssl_ == nullptr) return -EPROTO;
  if (!established_) {
    const int result = SSL_do_handshake(ssl_);
    if (result != 1) {
      const int error = SSL_get_error(ssl_, result);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return 0;
      return handshake_failed();
    }
    on_established();
  }
  return read_plaintext(in);
}

int TlsTransport::handshake_failed() {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  const char* detail = reason != nullptr ? reason : "connection closed";
  if (cluster_ == nullptr) return fail(classify_handshake_failure(ERR_GET_REASON(code)), detail);
  // The chain or the name: OpenSSL's verify result says which, better than its error queue.
  const long verified = SSL_get_verify_result(ssl_);
  if (verified != X509_V_OK)
    return fail(metrics::TlsFailure::verify, X509_verify_cert_error_string(verified));
  return fail(classify_upstream_handshake_failure(ERR_GET_REASON(code)), detail);
}

void TlsTransport::on_established() {
  established_ = true;
  TimerList::stop(handshake_timer_);
  if (counters_ != nullptr) {
    counters_->handshakes.add();
    if (SSL_session_reused(ssl_) == 1) counters_->resumed.add();
  }
  if (listener_ == nullptr) return;  // an upstream's facts are nobody's client facts
  ClientFacts& facts = stream_.facts_for_update();
  facts.tls = true;
  if (const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) facts.sni = name;
  const unsigned char* alpn = nullptr;
  unsigned alpn_length = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_length);
  if (alpn != nullptr) facts.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_length);
  facts.tls_version = SSL_get_version(ssl_);
  facts.tls_cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_));
  if (listener_->config().client_certificates)
    if (X509* peer = SSL_get0_peer_certificate(ssl_);
        peer != nullptr && SSL_get_verify_result(ssl_) == X509_V_OK)
      facts.client_subject = subject_of(peer);
}

int TlsTransport::read_plaintext(ChunkQueue& in) {
  thread_local char scratch[16384];
  std::string plain;
  int status = 0;
  for (;;) {
    size_t got = 0;
    if (SSL_read_ex(ssl_, scratch, sizeof scratch, &got) == 1) {
      plain.append(scratch, got);
      continue;
    }
    const int error = SSL_get_error(ssl_, 0);
    // ZERO_RETURN: the client's close_notify; its FIN follows and ends the stream.
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE &&
        error != SSL_ERROR_ZERO_RETURN) {
      const unsigned long code = ERR_peek_last_error();
      LOG_DEBUG("tls: %s broke the record layer: %s", cluster_ ? "an upstream" : "a client",
                code != 0 ? ERR_reason_error_string(code) : "connection closed");
      ERR_clear_error();
      failed_ = true;
      status = -EPROTO;
    }
    break;
  }
  if (!plain.empty()) {
    // In a buffer of the ring's, not an owned chunk: bodies and tunnels pass received buffers
    // on by slicing them.
    const auto length = static_cast<uint32_t>(plain.size());
    const uint16_t id = loop_.buffers().adopt(std::move(plain));
    if (id != BufferRing::kNone) {
      in.push(id, length);
    } else {
      LOG_ERROR_THROTTLED("tls: no buffer id left for %u decrypted bytes", length);
      failed_ = true;
      status = -ENOBUFS;
    }
  }
  return status;
}

int TlsTransport::fail(metrics::TlsFailure reason, const char* detail) {
  failed_ = true;
  ERR_clear_error();
  TimerList::stop(handshake_timer_);
  if (counters_ != nullptr) counters_->failed(reason);
  const char* why = metrics::kTlsFailureReasonNames[static_cast<size_t>(reason)];
  if (cluster_ != nullptr)
    // An upstream that fails handshakes is a misconfiguration an operator must see.
    LOG_WARN_THROTTLED("cluster %s: TLS handshake with %s failed (%s): %s",
                       cluster_->cluster().c_str(), endpoint_.c_str(), why, detail);
  else
    LOG_DEBUG("tls: handshake failed (%s): %s", why, detail);
  // The alert OpenSSL wrote tells the client why; the stream closes right after this, so it
  // goes out now, best effort (a full socket buffer drops it, the FIN still says enough).
  if (!staged_.empty() && !stream_.sending() && stream_.fd() >= 0)
    (void)::send(stream_.fd(), staged_.data(), staged_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  staged_.clear();
  return -EPROTO;
}

ChunkQueue& TlsTransport::wire(ChunkQueue& out, BufferRing& buffers) {
  if (!started_ && ssl_ != nullptr) {
    // A client's first call: TCP is connected, the ClientHello goes (behind any clear bytes).
    started_ = true;
    loop_.timers(timeout_ms_).start(handshake_timer_, loop_.now_ms());
    SSL_do_handshake(ssl_);  // WANT_READ; should it fail at once, the timeout ends it
    ERR_clear_error();
  }
  if (established_ && !failed_) {
    size_t budget = kPlainPerWire;
    while (!out.empty() && budget > 0) {
      const std::string_view chunk = out.front(buffers);
      size_t written = 0;
      // A BIO that never refuses: SSL_write takes everything it is given.
      if (SSL_write_ex(ssl_, chunk.data(), std::min(chunk.size(), budget), &written) != 1) {
        ERR_clear_error();
        break;
      }
      out.consume(written, buffers);
      budget -= std::min(budget, written);
    }
    if (shutdown_wanted_ && out.empty() && !notified_) {
      notified_ = true;
      SSL_shutdown(ssl_);  // our close_notify; the client's is not waited for
      ERR_clear_error();
    }
  }
  if (!staged_.empty()) {
    wire_.push_owned(std::move(staged_));
    staged_.clear();
  }
  return wire_;
}

bool TlsTransport::flushed(const ChunkQueue& out) const {
  return out.empty() && staged_.empty() && wire_.empty();
}

void TlsTransport::on_timer(int) {
  if (established_ || failed_) return;
  failed_ = true;
  if (counters_ != nullptr) counters_->failed(metrics::TlsFailure::timeout);
  if (!stream_.closing()) stream_.fail(-ETIMEDOUT);
}

}  // namespace sluice::proxy::tls
