// What sluice knows about the client of an accepted connection beyond its socket: the
// address a PROXY protocol header gave (the real client behind a trusted load balancer) and
// what the TLS handshake settled. A stream carries them only once something learned them
// (most connections have none, so the Stream stays small). Worker thread only.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace sluice::proxy {

struct ClientFacts {
  // The client's address from a PROXY protocol header; ss_family AF_UNSPEC when there was
  // none (or it said LOCAL/UNKNOWN), and then the socket's peer is the client.
  sockaddr_storage proxied{};
  // The address the client reached, as that header said (valid when `proxied` is).
  sockaddr_storage proxied_destination{};
  // Set by the TLS transport once its handshake is done; all empty for plaintext.
  bool tls = false;
  std::string sni;                    // the server name the client asked for
  std::string alpn;                   // the protocol ALPN agreed on
  const char* tls_version = nullptr;  // static strings from OpenSSL
  const char* tls_cipher = nullptr;
  std::string client_subject;  // a verified client certificate's subject (mTLS)
};

// The client's ip (and port, when asked) of the connection on socket `fd`: the PROXY header's
// when `facts` has one, else the socket's peer; empty when neither is known. For callers that
// have a socket before they have a Stream (accept-time admission); Stream::peer() is this.
void client_address(int fd, const ClientFacts* facts, char* ip, size_t size,
                    uint16_t* port = nullptr);

}  // namespace sluice::proxy
