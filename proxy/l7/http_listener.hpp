// A `protocol: http` listener of one snapshot: its routes with what each
// resolves to (cluster or direct response, rate limit, stats), the listener's
// own rate limit, and the factory that turns each accepted socket into an
// HTTP/1 connection. Built on the control thread; workers read it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/l7/h1/message.hpp"
#include "proxy/l7/rules/route_rules.hpp"
#include "proxy/l7/rules/route_table.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/session/rate_limit.hpp"
#include "proxy/session/session.hpp"
#include "proxy/upstream/cluster.hpp"

namespace sluice::proxy {

struct RouteRuntime {
  const config::Route* config = nullptr;
  const ClusterRuntime* cluster = nullptr;       // null for direct responses
  const RateLimitRuntime* rate_limit = nullptr;  // null: none
  // Every limit a request on this route must pass, in order: the listener's, then the route's
  // own (`rate_limit: [a, b]` on either).
  std::vector<const RateLimitRuntime*> limits;
  uint64_t limit_key = 0;  // for `key: route` limits, see route_key()
  std::shared_ptr<metrics::RouteStats> stats;
  // config->fallback's cluster (null for a static response or none), and its response's
  // headers as complete "Name: value\r\n" lines.
  const ClusterRuntime* fallback_cluster = nullptr;
  std::string fallback_headers;
  // Header rules (the listener's and the route's), path rewrite or redirect path.
  std::shared_ptr<const rules::RouteRules> rules;
};

class HttpListener final : public SessionFactory {
 public:
  explicit HttpListener(const config::Listener& config);

  Session* create(SessionHost& host, std::unique_ptr<Stream> client) const override;
  // The first route that fits the request, or null.
  const RouteRuntime* match(const http::Head& head) const;

  const config::Listener& config;
  const RateLimitRuntime* rate_limit = nullptr;  // counts every request on the listener
  std::vector<RouteRuntime> routes;              // config.routes, same positions
  // Some rule needs the client's address parsed: trusted_proxies, or access rules on the
  // listener or a route.
  bool checks_client = false;
  // Responses to requests that reached no route (bad requests, no match).
  std::shared_ptr<metrics::RouteStats> unrouted_stats;

 private:
  rules::RouteTable table_;
};

}  // namespace sluice::proxy
