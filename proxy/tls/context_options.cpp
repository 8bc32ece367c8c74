#include "proxy/tls/context_options.hpp"

#include <openssl/err.h>

#include <algorithm>

namespace sluice::proxy::tls {
namespace {

// Mozilla's "intermediate" configuration (v5.7): forward secrecy and AEAD only. TLS 1.3's
// suites are OpenSSL's defaults, named so that a library change cannot widen them.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";
// Sessions (and their resumption) are only valid within one service: every context of every
// listener shares it, so SNI switching contexts never breaks a resumption.
constexpr unsigned char kSessionContext[] = "sluice";

}  // namespace

std::string openssl_error(const char* fallback) {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : fallback;
}

SSL_CTX* new_server_context(const config::Tls& config, std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    error = "cannot create a TLS context: " + openssl_error();
    return nullptr;
  }
  const bool only_13 = config.min_version == config::TlsVersion::v1_3;
  SSL_CTX_set_min_proto_version(ctx, only_13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
  if (!config.session_tickets) options |= SSL_OP_NO_TICKET;
  SSL_CTX_set_options(ctx, options);
  // Idle connections give their 16 KiB read and write buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_max_early_data(ctx, 0);
  SSL_CTX_set_recv_max_early_data(ctx, 0);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    error = "cannot set the TLS ciphers: " + openssl_error();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_dh_auto(ctx, 1);
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, 20480);
  // A ticket is worth as long as its key decrypts (TicketKeys keeps kWindow rotations).
  const long lifetime_s =
      std::clamp<long>(static_cast<long>(config.ticket_key_rotation.count() / 1000) * 2, 60, 86400);
  SSL_CTX_set_timeout(ctx, lifetime_s);
  // One TLS 1.3 ticket per handshake: clients use one, and each costs an encryption.
  SSL_CTX_set_num_tickets(ctx, config.session_tickets ? 1 : 0);
  if (const auto& client = config.client_certificates) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client->ca_path.c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(ctx, client->ca_path.c_str(), nullptr) != 1) {
      error = "cannot load the client CA file " + client->ca_path + ": " +
              openssl_error("no certificate in it");
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      SSL_CTX_free(ctx);
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(
        ctx, SSL_VERIFY_PEER | (client->required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), nullptr);
  }
  return ctx;
}

}  // namespace sluice::proxy::tls
