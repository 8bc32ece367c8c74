// The fixture of the balancer tests (balancer_test.cpp, balancer_hash_test.cpp): sluice with
// `workers: 1` (one cursor, so exact orders) in front of http-mode test backends, which name
// themselves in every answer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {

class BalancerTest : public PolicyTest {
 protected:
  // Starts http backends named b0..b{n-1}; returns their addresses.
  std::vector<std::string> start_backends(int n) {
    std::vector<std::string> addresses;
    for (int i = 0; i < n; ++i)
      addresses.push_back(add_http_backend("b" + std::to_string(i)).address());
    return addresses;
  }

  // One http listener routing everything to cluster `c`.
  std::string http_yaml(uint16_t port, const std::string& balancer,
                        const std::vector<std::string>& endpoints,
                        const std::vector<int>& weights = {}, const std::string& route_extra = "") {
    return "workers: 1\n"
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port) +
           "\n"
           "    protocol: http\n"
           "    routes:\n"
           "      - match: { path_prefix: / }\n"
           "        cluster: c\n" +
           route_extra +
           "clusters:\n"
           "  - name: c\n"
           "    balancer: " +
           balancer +
           "\n"
           "    endpoints:\n" +
           endpoints_yaml(endpoints, weights);
  }

  std::string tcp_yaml(uint16_t port, const std::string& balancer,
                       const std::vector<std::string>& endpoints,
                       const std::vector<int>& weights = {}, const std::string& extra = "") {
    return "workers: 1\n"
           "listeners:\n"
           "  - name: tcp\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port) +
           "\n"
           "    protocol: tcp\n"
           "    cluster: c\n"
           "    timeouts: { connect: 500ms, idle: 10s }\n" +
           extra +
           "clusters:\n"
           "  - name: c\n"
           "    balancer: " +
           balancer +
           "\n"
           "    endpoints:\n" +
           endpoints_yaml(endpoints, weights);
  }

  // `n` sequential requests on one keep-alive connection; the backend names in order.
  std::vector<std::string> http_sequence(uint16_t port, int n, const std::string& target = "/") {
    HttpClient client(port);
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      HttpResponse r = client.get(target);
      EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.error;
      names.push_back(r.backend());
    }
    EXPECT_EQ(client.connects(), 1) << "the keep-alive connection was not kept";
    return names;
  }

  std::vector<std::string> tcp_sequence(uint16_t port, int n) {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) names.push_back(tcp_fetch_backend(port));
    return names;
  }
};

inline std::vector<std::string> repeat(const std::vector<std::string>& period, int times) {
  std::vector<std::string> out;
  for (int i = 0; i < times; ++i) out.insert(out.end(), period.begin(), period.end());
  return out;
}

inline std::map<std::string, int> tally(const std::vector<std::string>& names) {
  std::map<std::string, int> counts;
  for (const auto& n : names) ++counts[n];
  return counts;
}

}  // namespace sluice::testing
