#include "proxy/l7/http_listener.hpp"

#include "proxy/l7/h1/route.hpp"
#include "proxy/l7/h1_connection.hpp"

namespace sluice::proxy {

Session* HttpListener::create(SessionHost& host, std::unique_ptr<Stream> client) const {
  return new H1Connection(host, *this, std::move(client));
}

const RouteRuntime* HttpListener::match(const http::Head& head) const {
  const config::Route* route = http::match_route(config.routes, head);
  if (route == nullptr) return nullptr;
  return &routes[static_cast<size_t>(route - config.routes.data())];
}

}  // namespace sluice::proxy
