// Helpers shared by the config tests.
#pragma once

#include <string>
#include <vector>

#include "config/parse.hpp"

namespace sluice::config::testing {

// Every diagnostic of parsing `text` as "t.yaml", as the user would see it.
inline std::vector<std::string> errors_of(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& d : parse_config_text(text, "t.yaml").errors) out.push_back(d.to_string());
  return out;
}

// A valid tcp listener + cluster, to which tests append the part they are about.
inline const std::string kMinimal = R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: demo
clusters:
  - name: demo
    endpoints: [{ address: 127.0.0.1:9001 }]
)";

}  // namespace sluice::config::testing
