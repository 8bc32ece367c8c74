// What sluice knows about the client of an accepted connection beyond its socket: the
// address a PROXY protocol header gave (the real client behind a trusted load balancer) and
// what the TLS handshake settled. A stream carries them only once something learned them
// (most connections have none, so the Stream stays small). Worker thread only.
#pragma once

#include <sys/socket.h>

#include <string>

namespace sluice::proxy {

struct ClientFacts {
  // The client's address from a PROXY protocol header; ss_family AF_UNSPEC when there was
  // none (or it said LOCAL/UNKNOWN), and then the socket's peer is the client.
  sockaddr_storage proxied{};
  // Set by the TLS transport once its handshake is done; all empty for plaintext.
  bool tls = false;
  std::string sni;                    // the server name the client asked for
  std::string alpn;                   // the protocol ALPN agreed on
  const char* tls_version = nullptr;  // static strings from OpenSSL
  const char* tls_cipher = nullptr;
  std::string client_subject;  // a verified client certificate's subject (mTLS)
};

}  // namespace sluice::proxy
