#include "proxy/prelude/proxy_prelude.hpp"

#include <string>

#include "proxy/core/log.hpp"
#include "proxy/core/socket.hpp"
#include "proxy/prelude/proxy_protocol_listener.hpp"
#include "proxy/proxy_protocol/parser.hpp"

namespace sluice::proxy {

namespace pp = proxy_protocol;

ProxyPrelude::ProxyPrelude(SessionHost& host, const ProxyProtocolListener& listener,
                           std::unique_ptr<Stream> client)
    : listener_(listener), client_(std::move(client)) {
  this->host = &host;
  client_->set_owner(this);
  metrics::ListenerCounters& counters = host.counters();
  client_->set_counters(&counters.bytes_received, &counters.bytes_sent);
}

ProxyPrelude::~ProxyPrelude() {
  TimerList::stop(header_timer_);
}

void ProxyPrelude::start() {
  const auto timeout_ms = static_cast<uint64_t>(listener_.accept.timeout.count());
  host->loop().timers(timeout_ms).start(header_timer_, host->loop().now_ms());
  client_->receive(true);
}

void ProxyPrelude::on_stream_input(Stream&) {
  if (closing_) return;
  ChunkQueue& in = client_->in;
  pp::Header header;
  pp::Result result;
  if (!in.empty()) {
    // The header nearly always arrives in one piece, at the front of one receive buffer.
    const BufferRing& buffers = host->loop().buffers();
    result = pp::parse(in.front(buffers), header);
    if (result.status == pp::Status::need_more && in.queued_bytes() > in.front(buffers).size()) {
      std::string joined;
      in.for_each_chunk(buffers, [&](std::string_view chunk) {
        joined.append(chunk.substr(0, pp::kV2MaxLength - joined.size()));
        return joined.size() < pp::kV2MaxLength;
      });
      result = pp::parse(joined, header);
    }
  }
  switch (result.status) {
    case pp::Status::complete:
      in.consume(result.length, host->loop().buffers());
      accept(header);
      return;
    case pp::Status::malformed:
      refuse(metrics::ProxyRefusal::malformed, result.error);
      return;
    case pp::Status::need_more:
      // A peer that leaves before a whole header (a load balancer's TCP check) is no attack.
      if (client_->eof()) close();
      return;
  }
}

void ProxyPrelude::accept(const pp::Header& header) {
  TimerList::stop(header_timer_);
  if (header.has_address()) {
    ClientFacts& facts = client_->facts_for_update();
    facts.proxied = header.source;
    facts.proxied_destination = header.destination;
  }
  if (header.has_ssl && (header.ssl.client & pp::kClientSsl)) {
    // The trusted sender terminated TLS for this client: what it says of the handshake is
    // what sluice would have learned itself.
    ClientFacts& facts = client_->facts_for_update();
    facts.tls = true;
    facts.sni = header.authority;
    facts.alpn = header.alpn;
    facts.client_subject = header.ssl.cn;
  }
  // On a TLS listener the handshake follows the header: what came after it is its first bytes.
  if (host->start_transport(*client_) < 0) {
    close();
    return;
  }
  // The session to come decides when it wants bytes again (a TCP relay once its upstream is
  // connected).
  client_->receive(false);
  const SessionFactory& inner = *listener_.inner;
  if (!inner.admit(client_->fd(), client_->facts(), *host)) {  // counted and logged there
    close();
    return;
  }
  Stream* stream = client_.get();
  SessionHost& host_ref = *host;
  Session* next = inner.create(host_ref, std::move(client_));
  host_ref.session_replaced(*this, *next);  // frees this prelude: nothing of it after here
  next->start();
  stream->redeliver_input();
}

void ProxyPrelude::on_timer(int) {
  refuse(metrics::ProxyRefusal::timeout, "no whole PROXY header in time");
}

void ProxyPrelude::refuse(metrics::ProxyRefusal why, const char* detail) {
  host->counters().refused_by(why);
  char ip[INET6_ADDRSTRLEN] = "";
  uint16_t port = 0;
  client_->peer(ip, sizeof ip, &port);
  LOG_WARN_THROTTLED("listener %s: connection from %s:%u closed: %s", listener_.config.name.c_str(),
                     ip, static_cast<unsigned>(port), detail);
  close();
}

void ProxyPrelude::close() {
  if (closing_) return;
  closing_ = true;
  TimerList::stop(header_timer_);
  client_->close();
}

}  // namespace sluice::proxy
