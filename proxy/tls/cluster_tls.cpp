#include "proxy/tls/cluster_tls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>

#include "proxy/tls/context_options.hpp"

namespace sluice::proxy::tls {
namespace {

// A cluster keeps at most this many endpoints' sessions: discovery may churn through
// addresses, and a forgotten session only costs one full handshake.
constexpr size_t kMaxSessions = 4096;

config::Diagnostic at(const config::Place& place, std::string message) {
  return {place.file, place.line, place.column, std::move(message)};
}

// Each SSL's session key (its endpoint's address), freed with the SSL.
int endpoint_index() {
  static const int kIndex = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* data, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<std::string*>(data);
      });
  return kIndex;
}

int new_session_callback(SSL* ssl, SSL_SESSION* session) {
  const auto* owner = static_cast<const ClusterTls*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  owner->keep_session(ssl, session);
  return 1;  // the reference is ours now
}

std::string ip_of(const config::Address& address) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = address.family() == AF_INET6
                        ? static_cast<const void*>(
                              &reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr)
                        : static_cast<const void*>(
                              &reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr);
  return inet_ntop(address.family(), raw, text, sizeof text) != nullptr ? text : "";
}

}  // namespace

ClusterTls::~ClusterTls() {
  for (auto& [endpoint, session] : sessions_) SSL_SESSION_free(session);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

std::shared_ptr<const ClusterTls> ClusterTls::build(const std::string& cluster,
                                                    const config::UpstreamTls& config,
                                                    config::Diagnostic& error) {
  std::shared_ptr<ClusterTls> tls(new ClusterTls());
  tls->cluster_ = cluster;
  tls->config_ = config;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    error = {"", 0, 0, "cluster " + cluster + ": cannot create a TLS context: " + openssl_error()};
    return nullptr;
  }
  tls->ctx_ = ctx;
  SSL_CTX_set_app_data(ctx, tls.get());
  SSL_CTX_set_min_proto_version(
      ctx, config.min_version == config::TlsVersion::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               (config.session_reuse ? 0 : SSL_OP_NO_TICKET));
  // Idle pooled connections give their 16 KiB read and write buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (config.verify) {
    const bool loaded = config.ca_path.empty() ? SSL_CTX_set_default_verify_paths(ctx) == 1
                                               : SSL_CTX_load_verify_locations(
                                                     ctx, config.ca_path.c_str(), nullptr) == 1;
    if (!loaded) {
      error = at(config.ca_at, "cannot load the CA bundle " +
                                   (config.ca_path.empty() ? "of the system" : config.ca_path) +
                                   ": " + openssl_error("no certificate in it"));
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    const std::string& name = config.verify_name.empty() ? config.sni : config.verify_name;
    if (!name.empty()) {
      X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
      // A name with a wildcard certificate (*.example.com) is fine; a wildcard only in the
      // leftmost label, as browsers do.
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (const auto& cert = config.client_certificate) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert->cert_path.c_str()) != 1) {
      error = at(cert->cert_at, "cannot load the certificate chain " + cert->cert_path + ": " +
                                    openssl_error("no certificate in it"));
      return nullptr;
    }
    const std::string mismatch =
        "the private key " + cert->key_path + " does not match the certificate " + cert->cert_path;
    if (SSL_CTX_use_PrivateKey_file(ctx, cert->key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
      const std::string why = openssl_error("no key in it");
      error = at(cert->key_at, why == "key values mismatch"
                                   ? mismatch
                                   : "cannot load the private key " + cert->key_path + ": " + why);
      return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      error = at(cert->key_at, mismatch + " (" + openssl_error() + ")");
      return nullptr;
    }
  }
  if (!config.alpn.empty()) {
    std::string wire;
    for (const std::string& name : config.alpn) {
      wire += static_cast<char>(name.size());
      wire += name;
    }
    // Returns 0 on success, unlike most of OpenSSL.
    SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  if (config.session_reuse) {
    // Sessions are kept by endpoint here, not in OpenSSL's cache (a client's is keyed by
    // nothing it could look up).
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_callback);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  return tls;
}

SSL* ClusterTls::new_ssl(const config::Address& endpoint) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  SSL_set_connect_state(ssl);
  if (!config_.sni.empty()) SSL_set_tlsext_host_name(ssl, config_.sni.c_str());
  if (config_.verify && config_.verify_name.empty() && config_.sni.empty())
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip_of(endpoint).c_str());
  if (config_.session_reuse) {
    SSL_set_ex_data(ssl, endpoint_index(), new std::string(endpoint.text));
    std::lock_guard lock(mutex_);
    if (auto it = sessions_.find(endpoint.text); it != sessions_.end())
      SSL_set_session(ssl, it->second);  // takes its own reference
  }
  return ssl;
}

void ClusterTls::keep_session(SSL* ssl, SSL_SESSION* session) const {
  const auto* endpoint = static_cast<const std::string*>(SSL_get_ex_data(ssl, endpoint_index()));
  if (endpoint == nullptr || SSL_SESSION_is_resumable(session) != 1) {
    SSL_SESSION_free(session);
    return;
  }
  std::lock_guard lock(mutex_);
  auto [it, added] = sessions_.try_emplace(*endpoint, session);
  if (!added) {
    SSL_SESSION_free(it->second);
    it->second = session;
  } else if (sessions_.size() > kMaxSessions) {
    for (auto& [name, old] : sessions_)
      if (old != session) SSL_SESSION_free(old);
    sessions_.clear();
    sessions_.emplace(*endpoint, session);
  }
}

size_t ClusterTls::sessions() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace sluice::proxy::tls
