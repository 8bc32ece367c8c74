// One listener's TLS: an SSL_CTX per set of names (one certificate, or an ECDSA and an RSA one
// side by side, OpenSSL choosing by what the client supports; the default one's also holds the
// TLS 1.2 session cache and answers first), the SNI table that picks among them, ALPN, client
// certificate checks and the session ticket keys. Built on the control thread (loading every
// PEM file; a failure names the file's place in the config), then shared read-only by every
// worker through the snapshot; a connection holds it until it closes, so a reload or a
// certificate swap never pulls a context from under a handshake.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/parse.hpp"
#include "proxy/tls/sni_table.hpp"
#include "proxy/tls/ticket_keys.hpp"

namespace sluice::proxy::tls {

struct CertificateExpiry {
  std::string certificate;  // the cert file as configured
  double not_after = 0;     // unix time
};

class ListenerTls {
 public:
  // Null with `error` set (at the place of the file that failed) when a certificate, key or CA
  // file cannot be loaded or a key does not match its certificate. `keys` may be null (no
  // tickets are issued then, e.g. for --validate).
  static std::shared_ptr<const ListenerTls> build(const config::Tls& config,
                                                  std::shared_ptr<TicketKeys> keys,
                                                  config::Diagnostic& error);
  ~ListenerTls();
  ListenerTls(const ListenerTls&) = delete;
  ListenerTls& operator=(const ListenerTls&) = delete;

  // A server-side SSL for one accepted connection. Any worker thread.
  SSL* new_ssl() const { return SSL_new(contexts_[default_]); }
  const config::Tls& config() const { return config_; }
  const std::vector<CertificateExpiry>& expiries() const { return expiries_; }

  // OpenSSL callbacks (any worker thread, during a handshake).
  int on_server_name(SSL* ssl, int* alert) const;
  int on_alpn(const unsigned char** out, unsigned char* out_length, const unsigned char* in,
              unsigned in_length) const;
  int on_ticket(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                int encrypt) const;

 private:
  ListenerTls() = default;
  // A new context for certificate `index`.
  std::optional<config::Diagnostic> load(size_t index);
  // Certificate `index` into `context` too, next to `partner`'s (same names, other key type).
  std::optional<config::Diagnostic> add_to(size_t context, size_t index, size_t partner);
  std::optional<config::Diagnostic> use_certificate(SSL_CTX* ctx,
                                                    const config::TlsCertificate& cert);

  config::Tls config_;
  // One per set of names: a certificate, or an ECDSA and an RSA one that list the same names.
  std::vector<SSL_CTX*> contexts_;
  std::vector<int> key_types_;  // per context: its first certificate's (EVP_PKEY_EC, ...)
  size_t default_ = 0;
  SniTable names_;
  std::string alpn_wire_;  // length-prefixed names (RFC 7301)
  std::shared_ptr<TicketKeys> keys_;
  std::vector<CertificateExpiry> expiries_;
};

}  // namespace sluice::proxy::tls
