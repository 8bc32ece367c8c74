// Route selection for an HTTP listener: the first route whose match fits the
// request head. Called by workers on immutable snapshot data; no allocation.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy::http {

// host: exact or "*.suffix" (any depth of subdomain, not the bare suffix), ASCII
// case-insensitive, port and one trailing dot ignored; path_exact / path_prefix on
// Head::path (as received, not decoded); methods: exact, case-sensitive; headers:
// present, or some field with that name has exactly that value. Null when none fits.
const config::Route* match_route(const std::vector<config::Route>& routes, const Head& head);

// Whether one route's host, path_exact, path_prefix, methods and headers fit; `host` is
// host_without_port(head.host). path_regex and query need compiled state: proxy/l7/rules.
bool route_matches(const config::RouteMatch& match, const Head& head, std::string_view host);

// "Example.com:8080" -> "Example.com", "[::1]:80" -> "[::1]", "a.example." -> "a.example".
std::string_view host_without_port(std::string_view host);

}  // namespace sluice::proxy::http
