#include "proxy/tls/listener_tls.hpp"

#include <openssl/x509.h>

#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
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

// Two certificates share a context when they list the same names (an ECDSA and an RSA pair).
bool same_names(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  auto folded = [](const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (std::string name : names) {
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.push_back(std::move(name));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  return folded(a) == folded(b);
}

// The key type of the first certificate in a PEM file (EVP_PKEY_EC, EVP_PKEY_RSA, ...); 0 when
// it does not load (loading it for real then says why).
int leaf_key_type(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return 0;
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (leaf == nullptr) return 0;
  const EVP_PKEY* key = X509_get0_pubkey(leaf);
  const int type = key != nullptr ? EVP_PKEY_get_base_id(key) : 0;
  X509_free(leaf);
  return type;
}

std::string place_text(const config::Place& place) {
  return place.file + ":" + std::to_string(place.line) + ":" + std::to_string(place.column);
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
  std::vector<size_t> context_of;  // per certificate
  for (size_t i = 0; i < config.certificates.size(); ++i) {
    const config::TlsCertificate& cert = config.certificates[i];
    std::optional<size_t> partner;
    for (size_t j = 0; j < i && !partner; ++j)
      if (same_names(config.certificates[j].sni, cert.sni)) partner = j;
    std::optional<config::Diagnostic> failed =
        partner ? tls->add_to(context_of[*partner], i, *partner) : tls->load(i);
    if (failed) {
      error = std::move(*failed);
      return nullptr;
    }
    context_of.push_back(partner ? context_of[*partner] : tls->contexts_.size() - 1);
    if (cert.sni.empty()) tls->default_ = context_of.back();
    for (const std::string& name : cert.sni) tls->names_.add(name, context_of.back());
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
  key_types_.push_back(leaf_key_type(cert.cert_path));
  if (auto failed = use_certificate(ctx, cert)) return failed;
  SSL_CTX_set_app_data(ctx, this);
  SSL_CTX_set_tlsext_servername_callback(ctx, server_name_callback);
  SSL_CTX_set_tlsext_servername_arg(ctx, this);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_callback, this);
  if (keys_ && config_.session_tickets) SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_callback);
  return std::nullopt;
}

std::optional<config::Diagnostic> ListenerTls::add_to(size_t context, size_t index,
                                                      size_t partner) {
  const config::TlsCertificate& cert = config_.certificates[index];
  const int type = leaf_key_type(cert.cert_path);
  // OpenSSL keeps one certificate per key type in a context: a second of the same type would
  // silently replace the first.
  if (type != 0 && type == key_types_[context])
    return at(cert.cert_at, "has the same key type (" + std::string(OBJ_nid2sn(type)) +
                                ") as the certificate at " +
                                place_text(config_.certificates[partner].cert_at) +
                                ", which serves the same names: two certificates share names "
                                "only as one ECDSA and one RSA");
  return use_certificate(contexts_[context], cert);
}

std::optional<config::Diagnostic> ListenerTls::use_certificate(SSL_CTX* ctx,
                                                               const config::TlsCertificate& cert) {
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
  // The certificate just loaded is the context's current one.
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
