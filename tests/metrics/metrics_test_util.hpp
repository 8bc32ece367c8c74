// Helpers for reading rendered exposition text in tests.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::proxy::metrics::test {

// The value of the sample whose name and labels are exactly `series` (as rendered, e.g.
// `sluice_x_total{cluster="a"}`), or nullopt if there is no such line.
inline std::optional<std::string> sample_text(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return line.substr(series.size() + 1);
    }
  }
  return std::nullopt;
}

inline double sample(const std::string& text, const std::string& series) {
  auto v = sample_text(text, series);
  EXPECT_TRUE(v.has_value()) << "no sample " << series << " in:\n" << text;
  return v ? std::stod(*v) : -1;
}

// Lines (samples only) whose metric name is `name` exactly.
inline std::vector<std::string> samples_of(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) == 0 && line.size() > name.size() &&
        (line[name.size()] == '{' || line[name.size()] == ' ')) {
      out.push_back(line);
    }
  }
  return out;
}

}  // namespace sluice::proxy::metrics::test
