// clusters[].tls: its keys and defaults (SNI from a named endpoint, ALPN from the listeners that
// use the cluster), the warning verify: false gets, and what it may not be combined with.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/parse.hpp"
#include "config/to_json.hpp"
#include "test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using ::testing::HasSubstr;

// An http and a tcp listener; cluster `api` (http) and `db` (tcp) with `api` and `db` bodies
// under their names (api's from line 8 on).
std::string config(const std::string& api,
                   const std::string& db = "    endpoints: [{ address: 10.0.0.9:5432 }]\n") {
  return R"(listeners:
  - { name: web, listen: 127.0.0.1:8080, protocol: http, routes: [{ match: { path_prefix: / }, cluster: api }] }
  - { name: raw, listen: 127.0.0.1:8081, protocol: tcp, cluster: db }
clusters:
  - name: db
)" + db + "  - name: api\n" +
         api;
}

TEST(ParseUpstreamTls, EveryKey) {
  auto result = parse_config_text(config(R"(    endpoints: [{ address: 10.0.0.1:443 }]
    tls:
      sni: api.internal
      verify_name: api.example.com
      ca: /etc/ca.pem
      client_certificate: { cert: /etc/c.pem, key: /etc/c.key }
      alpn: [h2, http/1.1]
      min_version: "1.3"
      session_reuse: false
)"),
                                  "t.yaml");
  ASSERT_THAT(result.errors, ElementsAre());
  const UpstreamTls& tls = *result.config.find_cluster("api")->tls;
  EXPECT_EQ(tls.sni, "api.internal");
  EXPECT_EQ(tls.verify_name, "api.example.com");
  EXPECT_TRUE(tls.verify);
  EXPECT_EQ(tls.ca_path, "/etc/ca.pem");
  EXPECT_EQ(tls.ca_at.line, 12);
  EXPECT_EQ(tls.ca_at.column, 11);
  ASSERT_TRUE(tls.client_certificate.has_value());
  EXPECT_EQ(tls.client_certificate->key_path, "/etc/c.key");
  EXPECT_THAT(tls.alpn, ElementsAre("h2", "http/1.1"));
  EXPECT_EQ(tls.min_version, TlsVersion::v1_3);
  EXPECT_FALSE(tls.session_reuse);
  EXPECT_TRUE(result.config.warnings.empty());
  // /config shows it, the key's path redacted.
  const std::string json = to_json(result.config);
  EXPECT_THAT(json, HasSubstr(R"("tls":{"sni":"api.internal","verify_name":"api.example.com")"));
  EXPECT_THAT(json, HasSubstr(R"("client_certificate":{"cert":"/etc/c.pem","key":"<redacted>"})"));
}

TEST(ParseUpstreamTls, DefaultsFollowTheEndpointsAndTheListeners) {
  auto result = parse_config_text(
      config("    endpoints: [{ address: api.example.com:443 }, { address: 10.0.0.2:443 }]\n"
             "    tls: {}\n",
             "    endpoints: [{ address: 10.0.0.9:5432 }]\n    tls: {}\n"),
      "t.yaml");
  ASSERT_THAT(result.errors, ElementsAre());
  const UpstreamTls& api = *result.config.find_cluster("api")->tls;
  EXPECT_EQ(api.sni, "api.example.com");  // the named endpoint's host
  EXPECT_TRUE(api.verify);
  EXPECT_EQ(api.ca_path, "");                      // the system store
  EXPECT_THAT(api.alpn, ElementsAre("http/1.1"));  // an http listener routes to it
  EXPECT_TRUE(api.session_reuse);
  EXPECT_EQ(api.min_version, TlsVersion::v1_2);
  const UpstreamTls& db = *result.config.find_cluster("db")->tls;
  EXPECT_EQ(db.sni, "");                // IP endpoints only
  EXPECT_THAT(db.alpn, ElementsAre());  // only a tcp listener relays to it
}

TEST(ParseUpstreamTls, VerifyFalseIsAWarning) {
  auto result = parse_config_text(
      config("    endpoints: [{ address: 10.0.0.1:443 }]\n    tls: { verify: false }\n"), "t.yaml");
  ASSERT_THAT(result.errors, ElementsAre());
  ASSERT_EQ(result.config.warnings.size(), 1u);
  EXPECT_EQ(result.config.warnings[0].line, 9);
  EXPECT_THAT(result.config.warnings[0].message, HasSubstr("clusters[1].tls.verify: false"));
}

TEST(ParseUpstreamTls, MistakesPointAtTheirPlace) {
  EXPECT_THAT(
      errors_of(
          config(R"(    endpoints: [{ address: a.example.com:443 }, { address: b.example.com:443 }]
    health_check: { http: { path: /healthz } }
    tls:
      verify_name: "bad name"
      min_version: "1.1"
      client_certificate: { cert: /c.pem }
      sloppy: true
)")),
      ElementsAre("t.yaml:9:5: clusters[1].health_check: an http check of a cluster with tls is "
                  "not supported yet (without http: it is a TCP connect)",
                  "t.yaml:10:5: clusters[1].tls: the endpoints name several hosts (a.example.com, "
                  "b.example.com); set tls.sni (a server name per endpoint is not supported yet)",
                  "t.yaml:11:20: clusters[1].tls.verify_name: expected a host name like "
                  "api.example.com, got 'bad name'",
                  "t.yaml:12:20: clusters[1].tls.min_version: expected one of 1.2, 1.3, got '1.1' "
                  "(did you mean '1.2'?)",
                  "t.yaml:13:27: clusters[1].tls.client_certificate: missing required key 'key'",
                  "t.yaml:14:7: clusters[1].tls.sloppy: unknown key (expected one of sni, "
                  "verify_name, verify, ca, client_certificate, alpn, min_version, "
                  "session_reuse)"));
}

}  // namespace
}  // namespace sluice::config
