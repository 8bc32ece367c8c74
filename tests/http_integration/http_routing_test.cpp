// Routing, end to end: which upstream (or direct response) each request reaches
// by host, path, method and header, and that "no route" is an ordinary keep-alive
// 404 rather than the end of the connection.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"

namespace sluice::testing {
namespace {

class HttpRoutingTest : public HttpSluiceTest {
 protected:
  void SetUp() override {
    HttpConfig config;
    config.clusters = {
        {"a", {a_.address()}}, {"b", {b_.address()}}, {"c", {c_.address()}}, {"d", {d_.address()}}};
    config.routes = {
        "{ match: { host: api.example.com, path_prefix: /v1/ }, cluster: a }",
        "{ match: { host: \"*.example.org\" }, cluster: b }",
        "{ match: { path_exact: /exact }, cluster: c }",
        "{ match: { path_prefix: /m/, methods: [POST, PUT] }, cluster: d }",
        "{ match: { path_prefix: /h/, headers: [{ name: X-Tenant, exact: blue }] }, cluster: a }",
        "{ match: { path_prefix: /h/, headers: [{ name: X-Flag }] }, cluster: b }",
        "{ match: { path_exact: /direct }, direct_response: { status: 418, body: \"teapot\\n\" } "
        "}",
    };
    ASSERT_TRUE(start_sluice(config));
  }

  Upstream a_{echo_handler("a")};
  Upstream b_{echo_handler("b")};
  Upstream c_{echo_handler("c")};
  Upstream d_{echo_handler("d")};
};

struct RouteCase {
  std::string method, target, host, headers, body;
  std::string expect;  // upstream name, "404" or "418"
};

// All cases go over one client connection: a 404 or a direct response in the
// middle must leave it usable for the next request.
TEST_F(HttpRoutingTest, EachRequestReachesItsRouteOverOneConnection) {
  const std::vector<RouteCase> cases = {
      {"GET", "/v1/users", "api.example.com", "", "", "a"},
      {"GET", "/v1/users?x=1", "API.Example.COM:8080", "", "", "a"},  // case, port ignored
      {"GET", "/v2/users", "api.example.com", "", "", "404"},
      {"GET", "/v1", "api.example.com", "", "", "404"},  // prefix is "/v1/"
      {"GET", "/", "x.example.org", "", "", "b"},
      {"GET", "/any", "a.b.example.org", "", "", "b"},
      {"GET", "/", "example.org", "", "", "404"},  // *.suffix needs a label in front
      {"GET", "/", "xexample.org", "", "", "404"},
      {"GET", "/exact", "t", "", "", "c"},
      {"GET", "/exact?q=1", "t", "", "", "c"},  // the query is not part of the path
      {"GET", "/exact/", "t", "", "", "404"},
      {"POST", "/m/x", "t", "", "payload", "d"},
      {"PUT", "/m/x", "t", "", "payload", "d"},
      {"GET", "/m/x", "t", "", "", "404"},
      {"POST", "/m/y", "t", "", "skipped body", "d"},
      {"GET", "/h/1", "t", "X-Tenant: blue\r\n", "", "a"},
      {"GET", "/h/1", "t", "x-tenant: blue\r\n", "", "a"},    // names are case-insensitive
      {"GET", "/h/1", "t", "X-Tenant: Blue\r\n", "", "404"},  // values are not
      {"GET", "/h/1", "t", "X-Tenant: red\r\nX-Flag: \r\n", "", "b"},
      {"GET", "/h/1", "t", "", "", "404"},
      {"GET", "/direct", "t", "", "", "418"},
      {"POST", "/direct", "t", "", "ignored", "418"},
      {"POST", "/nowhere", "t", "", "a body that must be skipped", "404"},
      {"GET", "/v1/again", "api.example.com", "", "", "a"},
  };
  HttpClient client = connect();
  ASSERT_TRUE(client.valid());
  for (const RouteCase& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target + " Host: " + c.host + " " + c.headers);
    ASSERT_TRUE(client.send(request(c.method, c.target, c.host, c.headers, c.body)));
    std::string error;
    auto r = client.read_response(Millis(5000), false, &error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->header("connection").value_or(""),
              c.expect == "404" || c.expect == "418" ? "" : "keep-alive");
    if (c.expect == "404") {
      EXPECT_EQ(r->status, 404);
      EXPECT_EQ(r->header("x-sluice-error").value_or("<none>"), "no-route");
      EXPECT_EQ(r->body, "no-route\n");
      EXPECT_EQ(r->header("x-upstream-name"), std::nullopt);
    } else if (c.expect == "418") {
      EXPECT_EQ(r->status, 418);
      EXPECT_EQ(r->body, "teapot\n");
      EXPECT_EQ(r->header("x-sluice-error"), std::nullopt);
    } else {
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(r->header("x-upstream-name").value_or("<none>"), c.expect);
      EXPECT_EQ(r->body, c.body);  // the echo handler returns the request body
    }
  }
  // Every answer came on the one connection, which is still open.
  EXPECT_EQ(client.wait_closed(Millis(200)), StreamEnd::timeout);
}

// A response to HEAD never has a body (RFC 9110 §9.3.2), whoever generates it.
// If sluice sends its direct-response or error body anyway, the client reads
// those bytes as the start of the next response: the connection is desynced.
// DISABLED: http::direct_response() and http::error_response() always append
// the body; HttpSession does not drop it for HEAD. Re-enable once fixed.
TEST_F(HttpRoutingTest, HeadToDirectResponseAndNoRouteHasNoBody) {
  HttpClient client = connect();
  ASSERT_TRUE(client.send(request("HEAD", "/direct", "t") + request("GET", "/direct", "t") +
                          request("HEAD", "/nowhere", "t") + request("GET", "/exact", "t")));
  auto head_direct = client.read_response(Millis(5000), /*head_request=*/true);
  ASSERT_TRUE(head_direct);
  EXPECT_EQ(head_direct->status, 418);
  EXPECT_EQ(head_direct->header("content-length").value_or(""), "7");  // of the GET
  std::string error;
  auto get_direct = client.read_response(Millis(5000), false, &error);
  ASSERT_TRUE(get_direct) << "connection desynced after HEAD: " << error;
  EXPECT_EQ(get_direct->status, 418) << "desynced: " << get_direct->raw_head;
  EXPECT_EQ(get_direct->body, "teapot\n");
  auto head_missing = client.read_response(Millis(5000), /*head_request=*/true);
  ASSERT_TRUE(head_missing);
  EXPECT_EQ(head_missing->status, 404) << "desynced: " << head_missing->raw_head;
  auto get_exact = client.read_response();
  ASSERT_TRUE(get_exact);
  EXPECT_EQ(get_exact->status, 200) << "desynced: " << get_exact->raw_head;
  EXPECT_EQ(get_exact->header("x-upstream-name").value_or(""), "c");
}

// A direct response or 404 never opens an upstream connection.
TEST_F(HttpRoutingTest, DirectResponsesAndNoRouteNeverTouchAnUpstream) {
  auto r = fetch(request("GET", "/direct", "t"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 418);
  r = fetch(request("GET", "/nothing-here", "t"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(a_.connections() + b_.connections() + c_.connections() + d_.connections(), 0u);
}

}  // namespace
}  // namespace sluice::testing
