// What to_json.cpp and to_json_cluster.cpp share; not part of the config API (to_json.hpp
// is). Pure functions: any thread may call them.
#pragma once

#include <boost/json.hpp>
#include <cstdint>

#include "config/config.hpp"

namespace sluice::config::json_parts {

// Limits written as 0 mean "none" in Config; in JSON that is null, as when the key is absent.
boost::json::value unless_zero(uint64_t value);

// One cluster as GET /config shows it (to_json_cluster.cpp).
boost::json::object cluster_json(const Cluster& c);

// Traffic policies (to_json_policies.cpp); null when not configured.
boost::json::value sticky_cookie_json(const std::optional<StickyCookie>& cookie);
boost::json::value retry_budget_json(const std::optional<RetryBudget>& budget);
boost::json::value backoff_json(const RetryBackoff& backoff);
boost::json::value deadline_json(const Deadline& deadline);
boost::json::value fallback_json(const std::optional<Fallback>& fallback);

}  // namespace sluice::config::json_parts
