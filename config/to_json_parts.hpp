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
// A cluster's tls (to_json.cpp, with the other secrets); null when not configured.
boost::json::value upstream_tls_json(const std::optional<UpstreamTls>& tls);

// Traffic policies (to_json_policies.cpp); null when not configured.
boost::json::value sticky_cookie_json(const std::optional<StickyCookie>& cookie);
boost::json::value retry_budget_json(const std::optional<RetryBudget>& budget);
boost::json::value backoff_json(const RetryBackoff& backoff);
boost::json::value deadline_json(const Deadline& deadline);
boost::json::value fallback_json(const std::optional<Fallback>& fallback);
// Request and response rules (to_json_rules.cpp); null where nothing is set.
boost::json::value access_json(const AccessControl& access);
boost::json::value header_rules_json(const HeaderRules& headers);
boost::json::value trusted_proxies_json(const std::vector<Cidr>& cidrs);
boost::json::value redirect_json(const std::optional<Redirect>& redirect);
boost::json::value rewrite_json(const std::optional<Rewrite>& rewrite);
boost::json::value query_json(const std::vector<QueryMatch>& query);

}  // namespace sluice::config::json_parts
