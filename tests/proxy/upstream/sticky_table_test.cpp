// StickyTable: cookie values are stable per (secret, cluster, address) and name no address,
// find() maps them back to this snapshot's positions, Set-Cookie lines carry the attributes;
// EndpointPicker::take() takes a cookie's endpoint only while it is routable.
#include "proxy/upstream/sticky_table.hpp"

#include <gtest/gtest.h>

#include "limiter/outlier_detector.hpp"
#include "proxy/upstream/endpoint_picker.hpp"
#include "tests/proxy/upstream/upstream_test_util.hpp"

namespace sluice::proxy {
namespace {

constexpr int64_t kNow = 1'000'000'000'000;

TEST(StickyValue, KeyedHashOfClusterAndAddressAsSixteenHexDigits) {
  const std::string v = sticky_value("s3cret", "api", "10.0.0.1:80");
  ASSERT_EQ(v.size(), 16u);
  EXPECT_EQ(v.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(v, sticky_value("s3cret", "api", "10.0.0.1:80"));  // stable
  EXPECT_NE(v, sticky_value("other", "api", "10.0.0.1:80"));   // keyed
  EXPECT_NE(v, sticky_value("s3cret", "web", "10.0.0.1:80"));  // per cluster
  EXPECT_NE(v, sticky_value("s3cret", "api", "10.0.0.2:80"));
  // No secret: a fixed key, still not the plain address.
  EXPECT_EQ(sticky_value("", "api", "10.0.0.1:80"), sticky_value("", "api", "10.0.0.1:80"));
  EXPECT_EQ(sticky_value("", "api", "10.0.0.1:80").find("10.0"), std::string::npos);
}

TEST(StickyTable, FindsEachEndpointByItsValueWhateverItsPosition) {
  test::Clusters clusters;
  const auto addresses = test::fake_addresses(50);
  ClusterRuntime& c = clusters.add(addresses, "round_robin");
  config::StickyCookie cookie;
  cookie.secret = "k";
  const StickyTable table(cookie, "c0", c.endpoints);
  for (uint32_t i = 0; i < 50; ++i)
    EXPECT_EQ(table.find(sticky_value("k", "c0", addresses[i].text)), i);
  // The same endpoints in another order (a discovery update): values follow the address.
  std::vector<config::Address> reversed(addresses.rbegin(), addresses.rend());
  ClusterRuntime& r = clusters.add(reversed, "round_robin");
  const StickyTable again(cookie, "c0", r.endpoints);
  EXPECT_EQ(again.find(sticky_value("k", "c0", addresses[0].text)), 49u);
  // Gone, garbled or of another length: nothing.
  EXPECT_EQ(table.find(sticky_value("k", "c0", "10.9.9.9:80")), std::nullopt);
  EXPECT_EQ(table.find("zzzzzzzzzzzzzzzz"), std::nullopt);
  EXPECT_EQ(table.find("0123"), std::nullopt);
  EXPECT_EQ(table.find(""), std::nullopt);
}

TEST(StickyTable, SetCookieLineCarriesTheConfiguredAttributes) {
  test::Clusters clusters;
  ClusterRuntime& c = clusters.add(test::fake_addresses(2), "round_robin");
  config::StickyCookie cookie;
  cookie.name = "SRV";
  cookie.path = "/app";
  cookie.domain = "example.com";
  cookie.max_age = std::chrono::milliseconds(3'600'000);
  cookie.secure = true;
  cookie.same_site = config::StickyCookie::SameSite::strict;
  const StickyTable table(cookie, "c0", c.endpoints);
  const std::string value = sticky_value("", "c0", c.endpoints[1].address.text);
  EXPECT_EQ(table.set_cookie(1), "Set-Cookie: SRV=" + value +
                                     "; Path=/app; Domain=example.com; Max-Age=3600; HttpOnly; "
                                     "Secure; SameSite=Strict\r\n");
  config::StickyCookie plain;
  plain.http_only = false;
  const StickyTable session(plain, "c0", c.endpoints);
  EXPECT_EQ(session.set_cookie(0),
            "Set-Cookie: sluice_sticky=" + sticky_value("", "c0", c.endpoints[0].address.text) +
                "; Path=/\r\n");
}

TEST(EndpointPickerTake, TakesARoutableEndpointOnlyAndMarksItTried) {
  test::Clusters clusters;
  ClusterRuntime& c = clusters.add(test::fake_addresses(4), "round_robin");
  limiter::OutlierOptions options;
  options.consecutive_connect_failures = 1;
  options.max_ejected_percent = 100;
  c.outliers = std::make_shared<limiter::OutlierDetector>(options, 4);
  ASSERT_TRUE(c.outliers->on_connect_failure(1, kNow));
  c.endpoints.state(2).connect_failed(kNow);
  EndpointPicker picker;
  picker.reset(c);
  EXPECT_TRUE(picker.take(c, 0, kNow));
  EXPECT_EQ(picker.tried(), 1u);
  EXPECT_FALSE(picker.take(c, 0, kNow));  // tried already
  EXPECT_FALSE(picker.take(c, 1, kNow));  // ejected
  EXPECT_FALSE(picker.take(c, 2, kNow));  // backing off after a failed connect
  EXPECT_FALSE(picker.take(c, 9, kNow));  // not in this list
  EXPECT_TRUE(picker.take(c, 3, kNow));
  // The balancer's walk goes on without the taken ones.
  balancers::CoreState core;
  std::vector<uint32_t> rest;
  while (auto e = picker.pick(c, core, 0, kNow)) rest.push_back(*e);
  EXPECT_EQ(rest, std::vector<uint32_t>{2});  // only the backing-off one is left
}

TEST(EndpointPickerTake, RefusesAnEndpointHealthChecksTookOut) {
  test::Clusters clusters;
  ClusterRuntime& c = clusters.add(test::fake_addresses(3), "least_conn");
  c.endpoints.mark_unhealthy(1);
  EndpointPicker picker;
  picker.reset(c);
  EXPECT_FALSE(picker.take(c, 1, kNow));
  EXPECT_TRUE(picker.take(c, 2, kNow));
}

}  // namespace
}  // namespace sluice::proxy
