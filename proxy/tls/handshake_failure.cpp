#include "proxy/tls/handshake_failure.hpp"

#include <openssl/ssl.h>

namespace sluice::proxy::tls {

metrics::TlsFailure classify_handshake_failure(int reason) {
  using metrics::TlsFailure;
  switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      return TlsFailure::protocol_version;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
      return TlsFailure::no_shared_cipher;
    // The server name callback is the only one of ours that fails a handshake (strict_sni).
    case SSL_R_CALLBACK_FAILED:
      return TlsFailure::unknown_sni;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_NO_CERTIFICATES_RETURNED:
      return TlsFailure::client_certificate;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNKNOWN_PROTOCOL:
      return TlsFailure::not_tls;
    case 0:
      return TlsFailure::closed;
    default:
      return TlsFailure::other;
  }
}

}  // namespace sluice::proxy::tls
