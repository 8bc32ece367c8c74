#include "proxy/tls/listener_tls.hpp"

#include <openssl/x509.h>

#include <ctime>

#include "proxy/core/clock.hpp"
#include "proxy/tls/context_options.hpp"

namespace sluice::proxy::tls {
namespace {

config::Diagnostic at(const config::Place& place, std::string message) {
  return {place.file, place.line, place.column, std::move(message)};
}

const ListenerTls& owner(SSL* ssl) {
  return *static_cast<const ListenerTls*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

int server_name_callback(SSL* ssl, int* alert, void* arg) {
  return static_cast<const ListenerTls*>(arg)->on_server_name(ssl, alert);
}

int alpn_callback(SSL*, const unsigned char** out, unsigned char* out_length,
                  const unsigned char* in, unsigned in_length, void* arg) {
  return static_cast<const ListenerTls*>(arg)->on_alpn(out, out_length, in, in_length);
}

int ticket_callback(SSL* ssl, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                    EVP_MAC_CTX* mac, int encrypt) {
  return owner(ssl).on_ticket(name, iv, cipher, mac, encrypt);
}

double not_after(X509* cert) {
  tm when{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &when) != 1) return 0;
  return static_cast<double>(timegm(&when));
}

}  // namespace

ListenerTls::~ListenerTls() {
  for (SSL_CTX* ctx : contexts_) SSL_CTX_free(ctx);
}

std::shared_ptr<const ListenerTls> ListenerTls::build(const config::Tls& config,
                                                      std::shared_ptr<TicketKeys> keys,
                                                      config::Diagnostic& error) {
  std::shared_ptr<ListenerTls> tls(new ListenerTls());
  tls->config_ = config;
  tls->keys_ = std::move(keys);
  for (const std::string& name : config.alpn) {
    tls->alpn_wire_ += static_cast<char>(name.size());
    tls->alpn_wire_ += name;
  }
  for (size_t i = 0; i < config.certificates.size(); ++i) {
    if (auto failed = tls->load(i)) {
      error = std::move(*failed);
      return nullptr;
    }
    const config::TlsCertificate& cert = config.certificates[i];
    if (cert.sni.empty()) tls->default_ = i;
    for (const std::string& name : cert.sni) tls->names_.add(name, i);
  }
  if (tls->contexts_.empty()) {
    error = {"", 0, 0, "a TLS listener needs a certificate"};
    return nullptr;
  }
  return tls;
}

std::optional<config::Diagnostic> ListenerTls::load(size_t index) {
  const config::TlsCertificate& cert = config_.certificates[index];
  std::string why;
  SSL_CTX* ctx = new_server_context(config_, why);
  if (ctx == nullptr)
    return at(config_.client_certificates ? config_.client_certificates->ca_at : cert.cert_at, why);
  contexts_.push_back(ctx);  // freed with this object from now on
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.cert_path.c_str()) != 1)
    return at(cert.cert_at, "cannot load the certificate chain " + cert.cert_path + ": " +
                                openssl_error("no certificate in it"));
  const std::string mismatch =
      "the private key " + cert.key_path + " does not match the certificate " + cert.cert_path;
  if (SSL_CTX_use_PrivateKey_file(ctx, cert.key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL compares the key with the certificate as it loads it.
    const std::string why = openssl_error("no key in it");
    return at(cert.key_at, why == "key values mismatch"
                               ? mismatch
                               : "cannot load the private key " + cert.key_path + ": " + why);
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    return at(cert.key_at, mismatch + " (" + openssl_error() + ")");
  SSL_CTX_set_app_data(ctx, this);
  SSL_CTX_set_tlsext_servername_callback(ctx, server_name_callback);
  SSL_CTX_set_tlsext_servername_arg(ctx, this);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_callback, this);
  if (keys_ && config_.session_tickets) SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_callback);
  expiries_.push_back({cert.cert_path, not_after(SSL_CTX_get0_certificate(ctx))});
  return std::nullopt;
}

int ListenerTls::on_server_name(SSL* ssl, int* alert) const {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const std::optional<size_t> found = names_.find(name != nullptr ? name : "");
  if (!found) {
    if (!config_.strict_sni) return SSL_TLSEXT_ERR_OK;  // the default certificate answers
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (*found != default_) SSL_set_SSL_CTX(ssl, contexts_[*found]);
  return SSL_TLSEXT_ERR_OK;
}

int ListenerTls::on_alpn(const unsigned char** out, unsigned char* out_length,
                         const unsigned char* in, unsigned in_length) const {
  if (alpn_wire_.empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  // Our order wins; a client that offers none of ours goes on without ALPN.
  if (SSL_select_next_proto(
          &selected, out_length, reinterpret_cast<const unsigned char*>(alpn_wire_.data()),
          static_cast<unsigned>(alpn_wire_.size()), in, in_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

int ListenerTls::on_ticket(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                           EVP_MAC_CTX* mac, int encrypt) const {
  return keys_->on_ticket(name, iv, cipher, mac, encrypt != 0, clock::monotonic_ns());
}

}  // namespace sluice::proxy::tls
