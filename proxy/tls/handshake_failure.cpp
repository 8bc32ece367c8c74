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

metrics::TlsFailure classify_upstream_handshake_failure(int reason) {
  using metrics::TlsFailure;
  switch (reason) {
    // The endpoint's alerts about the certificate sluice sent (or did not send).
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      return TlsFailure::client_certificate;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return TlsFailure::verify;
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      return TlsFailure::no_shared_cipher;
    case SSL_R_CALLBACK_FAILED:
      return TlsFailure::other;
    default: {
      const TlsFailure server_side = classify_handshake_failure(reason);
      return server_side == TlsFailure::unknown_sni ? TlsFailure::other : server_side;
    }
  }
}

}  // namespace sluice::proxy::tls
