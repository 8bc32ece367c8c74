#include "proxy/upstream/proxy_header.hpp"

#include <sys/socket.h>

#include "proxy/proxy_protocol/writer.hpp"

namespace sluice::proxy {

namespace pp = proxy_protocol;

std::string proxy_header(config::ProxyProtocolSend version, const Stream* client) {
  pp::Header header;
  header.version = version == config::ProxyProtocolSend::v1 ? pp::Version::v1 : pp::Version::v2;
  if (client == nullptr) return pp::write(header);
  const ClientFacts* facts = client->facts();
  if (facts != nullptr && facts->proxied.ss_family != AF_UNSPEC) {
    // Passed on as received: the upstream learns the same client sluice did.
    header.source = facts->proxied;
    header.destination = facts->proxied_destination;
  } else {
    socklen_t length = sizeof header.source;
    if (getpeername(client->fd(), reinterpret_cast<sockaddr*>(&header.source), &length) != 0)
      header.source = {};
    length = sizeof header.destination;
    if (getsockname(client->fd(), reinterpret_cast<sockaddr*>(&header.destination), &length) != 0)
      header.destination = {};
  }
  if (facts != nullptr && facts->tls) {
    header.alpn = facts->alpn;
    header.authority = facts->sni;
    header.has_ssl = true;
    header.ssl.client = pp::kClientSsl;
    if (!facts->client_subject.empty()) header.ssl.client |= pp::kClientCertConn;
    if (facts->tls_version != nullptr) header.ssl.version = facts->tls_version;
    if (facts->tls_cipher != nullptr) header.ssl.cipher = facts->tls_cipher;
    header.ssl.cn = facts->client_subject;
  }
  return pp::write(header);
}

}  // namespace sluice::proxy
