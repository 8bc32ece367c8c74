// One cluster's TLS towards its endpoints (sluice the client): a client SSL_CTX with the CA
// bundle, the name to verify, ALPN, the optional client certificate (mTLS), and the last
// session of each endpoint, offered again on its next connection (TLS 1.3 tickets arrive after
// the handshake, so sessions are taken from OpenSSL's new-session callback). Built on the
// control thread (loading every PEM file; a failure names the file's place in the config),
// then shared read-only by every worker through the snapshot; a connection holds it until it
// closes.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "config/config.hpp"
#include "config/parse.hpp"

namespace sluice::proxy::tls {

class ClusterTls {
 public:
  // Null with `error` set (at the place of the file that failed) when the CA bundle, the
  // client certificate or its key cannot be loaded, or the key does not match.
  static std::shared_ptr<const ClusterTls> build(const std::string& cluster,
                                                 const config::UpstreamTls& config,
                                                 config::Diagnostic& error);
  ~ClusterTls();
  ClusterTls(const ClusterTls&) = delete;
  ClusterTls& operator=(const ClusterTls&) = delete;

  // A client SSL for a new connection to `endpoint`: SNI, the name (or, with neither sni nor
  // verify_name, the IP) its certificate must carry, and the endpoint's last session. Null
  // when OpenSSL cannot make one. Any worker thread.
  SSL* new_ssl(const config::Address& endpoint) const;
  const std::string& cluster() const { return cluster_; }
  const config::UpstreamTls& config() const { return config_; }

  // OpenSSL's new-session callback (any worker thread): `session` becomes its endpoint's last.
  void keep_session(SSL* ssl, SSL_SESSION* session) const;
  // Sessions kept, for tests.
  size_t sessions() const;

 private:
  ClusterTls() = default;

  std::string cluster_;
  config::UpstreamTls config_;
  SSL_CTX* ctx_ = nullptr;
  // By endpoint address. Workers share it: one short lock per new connection and per ticket,
  // next to a handshake's cost.
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, SSL_SESSION*> sessions_;
};

}  // namespace sluice::proxy::tls
