// What makes two health checks the same check: the endpoint's address (by its bytes, so
// "localhost:80" and "127.0.0.1:80" are one) and an equal spec. Several clusters that list
// one endpoint with one spec share its probes and its state; a changed spec is a new check
// with a fresh history. Pure; any thread.
#pragma once

#include <string>

#include "config/config.hpp"

namespace sluice::proxy::health {

// "127.0.0.1:8080", "[::1]:8080" from the socket address, whatever the config's text was.
std::string address_key(const config::Address& address);
// Every field of the spec, so equal keys mean equal checks.
std::string spec_key(const config::HealthCheck& spec);
// How a check reads in a log line: "tcp connect", "http GET /healthz".
std::string describe_check(const config::HealthCheck& spec);

}  // namespace sluice::proxy::health
