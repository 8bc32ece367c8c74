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

TlsTransport::TlsTransport(Loop& loop, Stream& stream, std::shared_ptr<const ListenerTls> tls,
                           metrics::TlsCounters* counters)
    : loop_(loop),
      stream_(stream),
      tls_(std::move(tls)),
      counters_(counters),
      ssl_(tls_->new_ssl()) {
  if (ssl_ != nullptr) {
    BIO* bio = new_stream_bio(*this);
    SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL_free frees it once
    SSL_set_accept_state(ssl_);
  }
  const auto timeout = static_cast<uint64_t>(tls_->config().handshake_timeout.count());
  loop_.timers(timeout).start(handshake_timer_, loop_.now_ms());
}

TlsTransport::~TlsTransport() {
  TimerList::stop(handshake_timer_);
  if (!established_ && !failed_ && counters_ != nullptr)
    counters_->failed(metrics::TlsFailure::closed);
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
      const unsigned long code = ERR_peek_last_error();
      const char* detail = code != 0 ? ERR_reason_error_string(code) : nullptr;
      return fail(classify_handshake_failure(ERR_GET_REASON(code)),
                  detail != nullptr ? detail : "connection closed");
    }
    on_established();
  }
  return read_plaintext(in);
}

void TlsTransport::on_established() {
  established_ = true;
  TimerList::stop(handshake_timer_);
  ClientFacts& facts = stream_.facts_for_update();
  facts.tls = true;
  if (const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) facts.sni = name;
  const unsigned char* alpn = nullptr;
  unsigned alpn_length = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_length);
  if (alpn != nullptr) facts.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_length);
  facts.tls_version = SSL_get_version(ssl_);
  facts.tls_cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_));
  if (tls_->config().client_certificates)
    if (X509* peer = SSL_get0_peer_certificate(ssl_);
        peer != nullptr && SSL_get_verify_result(ssl_) == X509_V_OK)
      facts.client_subject = subject_of(peer);
  if (counters_ != nullptr) {
    counters_->handshakes.add();
    if (SSL_session_reused(ssl_) == 1) counters_->resumed.add();
  }
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
      LOG_DEBUG("tls: a client broke the record layer: %s",
                code != 0 ? ERR_reason_error_string(code) : "connection closed");
      ERR_clear_error();
      failed_ = true;
      status = -EPROTO;
    }
    break;
  }
  if (!plain.empty()) in.push_owned(std::move(plain));
  return status;
}

int TlsTransport::fail(metrics::TlsFailure reason, const char* detail) {
  failed_ = true;
  ERR_clear_error();
  TimerList::stop(handshake_timer_);
  if (counters_ != nullptr) counters_->failed(reason);
  LOG_DEBUG("tls: handshake failed (%s): %s",
            metrics::kTlsFailureReasonNames[static_cast<size_t>(reason)], detail);
  // The alert OpenSSL wrote tells the client why; the stream closes right after this, so it
  // goes out now, best effort (a full socket buffer drops it, the FIN still says enough).
  if (!staged_.empty() && !stream_.sending() && stream_.fd() >= 0)
    (void)::send(stream_.fd(), staged_.data(), staged_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  staged_.clear();
  return -EPROTO;
}

ChunkQueue& TlsTransport::wire(ChunkQueue& out, BufferRing& buffers) {
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
