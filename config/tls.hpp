// listeners[].tls as parsed: certificates by SNI, the protocol settings and mTLS; and
// clusters[].tls, TLS from sluice to a cluster's endpoints (part of config.hpp, which includes
// it). Pure data.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/values.hpp"

namespace sluice::config {

// Where a value was written, so a check that runs after parsing (loading a certificate's PEM
// files) can still point at it: "file:line:col".
struct Place {
  std::string file;
  int line = 0;
  int column = 0;
};

struct TlsCertificate {
  std::string cert_path;
  std::string key_path;
  std::vector<std::string> sni;  // exact names and "*.suffix"; empty: the default certificate
  Place cert_at;
  Place key_at;
};

// listeners[].tls.client_certificates: mTLS.
struct TlsClientCertificates {
  std::string ca_path;  // the CAs a client certificate must chain to (PEM)
  Place ca_at;
  bool required = true;  // false: a client without a certificate is let in (unverified)
  // http: the verified subject (RFC 2253) is sent upstream in this header (a client's own
  // header of that name is removed). Empty: not sent.
  std::string subject_header;
};

enum class TlsVersion { v1_2, v1_3 };

struct Tls {
  std::vector<TlsCertificate> certificates;
  // A client whose SNI names no certificate (or that sends none) is refused instead of
  // getting the default certificate.
  bool strict_sni = false;
  // Offered by ALPN in preference order; empty: ALPN is not answered. http listeners default
  // to http/1.1.
  std::vector<std::string> alpn;
  TlsVersion min_version = TlsVersion::v1_2;
  Duration handshake_timeout{10000};
  // Session tickets (TLS 1.2 and 1.3) with keys rotated every `ticket_key_rotation`; a key
  // decrypts for two more rotations. The keys survive reloads and certificate changes.
  bool session_tickets = true;
  Duration ticket_key_rotation{3600 * 1000};
  std::optional<TlsClientCertificates> client_certificates;
};

// clusters[].tls: sluice is the TLS client of the cluster's endpoints.
struct UpstreamTls {
  // The server name sent (SNI); empty: none. Defaults to the host name of named endpoints
  // (`api.example.com:443`), none for IP endpoints.
  std::string sni;
  // The name the endpoint's certificate must carry; empty: `sni`, and without one the
  // endpoint's IP address (an IP subjectAltName).
  std::string verify_name;
  // Chain and name checked; false is explicit (and warned about at load).
  bool verify = true;
  Place verify_at;
  std::string ca_path;  // PEM bundle the chain must end in; empty: the system store
  Place ca_at;
  // mTLS to the endpoints (its `sni` is unused); none: no client certificate is offered.
  std::optional<TlsCertificate> client_certificate;
  // Offered by ALPN in preference order. Unset: http/1.1 when an http listener routes to the
  // cluster, none otherwise.
  std::vector<std::string> alpn;
  bool alpn_set = false;
  TlsVersion min_version = TlsVersion::v1_2;
  // The last session per endpoint is offered again on the next connection (a resumption
  // skips the certificate exchange and its verification).
  bool session_reuse = true;
};

}  // namespace sluice::config
