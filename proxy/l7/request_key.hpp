// The 64-bit keys an HTTP request is hashed and rate-limited by, taken from
// where the cluster's or the limit's `key:` says. Worker threads; no allocation.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/config.hpp"
#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy {

// An HTTP request: client IP, a header, a cookie, the path or a query parameter.
// A missing header/cookie/parameter hashes as the empty string, so all such
// requests stick together rather than scattering.
uint64_t request_key(const config::HashKey& key, const http::Head& head,
                     std::string_view client_ip);

// The key a rate limit counts an HTTP request by (see limit_key() in
// proxy/session/rate_limit.hpp): the header is looked up in `head`.
uint64_t request_limit_key(const config::RateLimitKey& key, const http::Head& head,
                           std::string_view client_ip, uint64_t route_key);
// The same for a whole limit: its key, or every part of a combined one folded together.
uint64_t request_limit_key(const config::RateLimit& limit, const http::Head& head,
                           std::string_view client_ip, uint64_t route_key);

// A route's identity for `key: route` limits: its listener's and its own name,
// so a route keeps its bucket when a reload inserts routes before it, and
// routes of different listeners never share one.
uint64_t route_key(std::string_view listener, std::string_view route);

// Finds `name` in a Cookie header value ("a=1; b=2"); empty when absent.
std::string_view cookie_value(std::string_view cookies, std::string_view name);
// Finds `name` in a query string ("a=1&b=2"); empty when absent. Not decoded.
std::string_view query_value(std::string_view query, std::string_view name);

}  // namespace sluice::proxy
