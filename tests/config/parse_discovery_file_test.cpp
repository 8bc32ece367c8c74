// clusters[].discovery with the file source and the guard's keys: both spellings of `file`,
// defaults, and each bad value reported at its own line:col.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;

const std::string kListener = R"(listeners:
  - { name: web, listen: 127.0.0.1:8080, protocol: tcp, cluster: c }
clusters:
  - name: c
)";

Config parsed(const std::string& text) {
  ParseResult r = parse_config_text(text, "t.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return std::move(r.config);
}

TEST(ParseDiscoveryFile, APathAloneTakesTheDefaults) {
  Config c = parsed(kListener + "    discovery: { file: /etc/sluice/api.yaml }\n");
  const auto& file = std::get<FileDiscovery>(*c.clusters[0].discovery);
  EXPECT_EQ(file.path, "/etc/sluice/api.yaml");
  EXPECT_EQ(file.poll_interval, Duration(5000));
  EXPECT_EQ(c.clusters[0].discovery_guard.confirm_window, Duration(30000));
  EXPECT_EQ(c.clusters[0].discovery_guard.hold_fraction, 0.5);
  EXPECT_TRUE(c.clusters[0].endpoints.empty());
}

TEST(ParseDiscoveryFile, TheMapFormAndTheGuardKeys) {
  Config c = parsed(kListener +
                    "    discovery: { file: { path: eps.json, poll_interval: 1s },"
                    " confirm_window: 10s, hold_fraction: 1 }\n");
  const auto& file = std::get<FileDiscovery>(*c.clusters[0].discovery);
  EXPECT_EQ(file.path, "eps.json");
  EXPECT_EQ(file.poll_interval, Duration(1000));
  EXPECT_EQ(c.clusters[0].discovery_guard.confirm_window, Duration(10000));
  EXPECT_EQ(c.clusters[0].discovery_guard.hold_fraction, 1.0);
}

TEST(ParseDiscoveryFile, BadValuesAreErrorsWhereTheyAre) {
  EXPECT_THAT(errors_of(kListener + "    discovery: { file: \"\" }\n"),
              ElementsAre("t.yaml:5:24: clusters[0].discovery.file: must not be empty"));
  EXPECT_THAT(errors_of(kListener + "    discovery: { file: { poll_interval: 1s } }\n"),
              ElementsAre("t.yaml:5:24: clusters[0].discovery.file: missing required key 'path'"));
  EXPECT_THAT(
      errors_of(kListener +
                "    discovery: { file: a.yaml, hold_fraction: 0, confirm_window: 0s }\n"),
      ElementsAre("t.yaml:5:47: clusters[0].discovery.hold_fraction: must be greater than 0 and "
                  "at most 1, got 0",
                  "t.yaml:5:66: clusters[0].discovery.confirm_window: must be longer than 0"));
  EXPECT_THAT(errors_of(kListener + "    discovery: { file: a.yaml, fiel: b.yaml }\n"),
              ElementsAre("t.yaml:5:32: clusters[0].discovery.fiel: unknown key (did you mean "
                          "'file'?)"));
}

}  // namespace
}  // namespace sluice::config
