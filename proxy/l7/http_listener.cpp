#include "proxy/l7/http_listener.hpp"

#include "proxy/l7/h1_connection.hpp"

namespace sluice::proxy {

HttpListener::HttpListener(const config::Listener& config) : config(config), table_(config.routes) {
  checks_client = !config.rules.trusted_proxies.empty() || !config.rules.access.empty();
  for (const auto& route : config.routes) checks_client = checks_client || !route.access.empty();
}

Session* HttpListener::create(SessionHost& host, std::unique_ptr<Stream> client) const {
  return new H1Connection(host, *this, std::move(client));
}

const RouteRuntime* HttpListener::match(const http::Head& head) const {
  const int index = table_.match(head);
  return index < 0 ? nullptr : &routes[static_cast<size_t>(index)];
}

}  // namespace sluice::proxy
