// admin, log.access, drain_timeout, route names and the source hash.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "config/parse.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using testing::kMinimal;

Config parse_ok(const std::string& text) {
  ParseResult result = parse_config_text(text, "t.yaml");
  EXPECT_TRUE(result.ok()) << result.errors[0].to_string();
  return result.config;
}

uint16_t port_of(const Address& a) {
  return ntohs(reinterpret_cast<const sockaddr_in*>(a.sockaddr_ptr())->sin_port);
}

TEST(ParseAdmin, AbsentMeansNoAdminListener) {
  EXPECT_FALSE(parse_ok(kMinimal).admin.has_value());
}

TEST(ParseAdmin, EmptyMapListensOnTheDefault) {
  Config c = parse_ok(kMinimal + "admin: {}\n");
  ASSERT_TRUE(c.admin.has_value());
  EXPECT_EQ(c.admin->listen.text, "127.0.0.1:9901");
  EXPECT_EQ(c.admin->listen.family(), AF_INET);
  EXPECT_EQ(port_of(c.admin->listen), 9901);
  EXPECT_EQ(c.admin->max_endpoint_series, 1000u);
}

TEST(ParseAdmin, ListenAndSeriesCap) {
  Config c = parse_ok(kMinimal + "admin: { listen: 127.0.0.1:9000, max_endpoint_series: 0 }\n");
  EXPECT_EQ(c.admin->listen.text, "127.0.0.1:9000");
  EXPECT_EQ(c.admin->max_endpoint_series, 0u);
  EXPECT_THAT(errors_of(kMinimal + "admin: { max_endpoint_series: -1, lisen: 1 }\n"),
              ElementsAre("t.yaml:9:31: admin.max_endpoint_series: must be between 0 and "
                          "1000000, got -1",
                          "t.yaml:9:35: admin.lisen: unknown key (did you mean 'listen'?)"));
  EXPECT_THAT(errors_of(kMinimal + "admin: 9901\n"),
              ElementsAre("t.yaml:9:8: admin: expected a map, got '9901'"));
}

TEST(ParseAdmin, DefaultAddressCollisionPointsAtAdmin) {
  EXPECT_THAT(errors_of(R"(listeners:
  - { name: web, listen: 127.0.0.1:9901, protocol: tcp, cluster: demo }
clusters:
  - { name: demo, endpoints: [{ address: 127.0.0.1:9001 }] }
admin: {}
)"),
              ElementsAre("t.yaml:5:8: admin: address 127.0.0.1:9901 is already used by "
                          "listener 'web' (line 2:26)"));
}

TEST(ParseLog, AccessLogIsOnOnlyWhenConfigured) {
  EXPECT_FALSE(parse_ok(kMinimal).log.access.enabled);
  EXPECT_FALSE(parse_ok(kMinimal + "log: { access: { path: off } }\n").log.access.enabled);
  Config c = parse_ok(kMinimal + "log: { access: { format: text, sample: 0.25 } }\n");
  EXPECT_TRUE(c.log.access.enabled);
  EXPECT_EQ(c.log.access.path, "stdout");
  EXPECT_EQ(c.log.access.format, AccessLog::Format::text);
  EXPECT_EQ(c.log.access.sample, 0.25);
}

TEST(ParseDrainTimeout, DefaultValueAndErrors) {
  EXPECT_EQ(parse_ok(kMinimal).drain_timeout, Duration(30'000));
  EXPECT_EQ(parse_ok("drain_timeout: 2m\n" + kMinimal).drain_timeout, Duration(120'000));
  EXPECT_THAT(errors_of("drain_timeout: 0s\n" + kMinimal),
              ElementsAre("t.yaml:1:16: drain_timeout: must be longer than 0"));
  EXPECT_THAT(errors_of("drain_timeout: 30\n" + kMinimal),
              ElementsAre("t.yaml:1:16: drain_timeout: expected a duration like 250ms, 2s, 1m "
                          "or 1h, got '30'"));
}

const std::string kClusters = R"(clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
)";

TEST(ParseRouteNames, DefaultToPositionAndMayBeGiven) {
  Config c = parse_ok(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    routes:
      - { match: { path_prefix: /a }, cluster: c }
      - { name: api-v1, match: { path_prefix: /v1 }, cluster: c }
      - { match: {}, cluster: c }
  - name: other
    listen: 127.0.0.1:8081
    protocol: http
    routes:
      - { name: api-v1, match: {}, cluster: c }
)" + kClusters);
  ASSERT_EQ(c.listeners[0].routes.size(), 3u);
  EXPECT_EQ(c.listeners[0].routes[0].name, "0");
  EXPECT_EQ(c.listeners[0].routes[1].name, "api-v1");
  EXPECT_EQ(c.listeners[0].routes[2].name, "2");
  EXPECT_EQ(c.listeners[1].routes[0].name, "api-v1");  // unique per listener, not globally
}

TEST(ParseRouteNames, UniqueWithinAListener) {
  EXPECT_THAT(errors_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    routes:
      - { name: a, match: {}, cluster: c }
      - { name: a, match: {}, cluster: c }
      - { name: "3", match: {}, cluster: c }
      - { match: {}, cluster: c }
      - { name: "bad name", match: {}, cluster: c }
)" + kClusters),
              ElementsAre("t.yaml:7:17: listeners[0].routes[1].name: duplicate route name 'a' "
                          "(first at line 6:17)",
                          // An unnamed route whose position an earlier route took as its name.
                          "t.yaml:9:9: listeners[0].routes[3]: this route's default name '3' (its "
                          "position) is already used by the route at line 8:17; give it a name",
                          "t.yaml:10:17: listeners[0].routes[4].name: name 'bad name' may only "
                          "contain letters, digits, '_', '-' and '.'"));
  // A name that a later unnamed route's position would take is reported at the name.
  EXPECT_THAT(errors_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    routes:
      - { match: {}, cluster: c }
      - { name: "0", match: {}, cluster: c }
)" + kClusters),
              ElementsAre("t.yaml:7:17: listeners[0].routes[1].name: duplicate route name '0' "
                          "(the default name of the route at line 6:9)"));
}

TEST(ParseSourceHash, Sha256OfTheBytesParsed) {
  // sha256sum of kMinimal.
  const std::string expected = "c25425f1a7c02ba8bc8a898af2d8438c29e7fa23b10c71e9552f03d7768f842f";
  EXPECT_EQ(parse_config_text(kMinimal, "t.yaml").config.source_hash, expected);

  char path[] = "/tmp/sluice-hash-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, kMinimal.data(), kMinimal.size()), static_cast<ssize_t>(kMinimal.size()));
  ::close(fd);
  ParseResult file = parse_config_file(path);
  ::unlink(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file.config.source_hash, expected);
  EXPECT_EQ(file.config.source_path, path);
  // One byte more, another hash.
  EXPECT_NE(parse_config_text(kMinimal + "\n", "t.yaml").config.source_hash, expected);
}

}  // namespace
}  // namespace sluice::config
