// Request and response rules end to end, through the real binary: redirect and rewrite
// tables, header rules with variables, CIDR allow/deny for IPv4 and IPv6 clients (on one
// dual-stack listener; 127.0.0.2 is a second IPv4 client), and X-Forwarded-For behind a
// trusted proxy deciding who the client is.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"

namespace sluice::testing {
namespace {

// A client socket from `source` (an IPv4 or IPv6 loopback address) to sluice's port.
HttpClient connect_from(const std::string& source, uint16_t port) {
  const bool v6 = source.find(':') != std::string::npos;
  Socket s(socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_storage from{}, to{};
  socklen_t length = 0;
  if (v6) {
    auto* f = reinterpret_cast<sockaddr_in6*>(&from);
    auto* t = reinterpret_cast<sockaddr_in6*>(&to);
    f->sin6_family = t->sin6_family = AF_INET6;
    inet_pton(AF_INET6, source.c_str(), &f->sin6_addr);
    t->sin6_addr = in6addr_loopback;
    t->sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
  } else {
    auto* f = reinterpret_cast<sockaddr_in*>(&from);
    auto* t = reinterpret_cast<sockaddr_in*>(&to);
    f->sin_family = t->sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &f->sin_addr);
    t->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    t->sin_port = htons(port);
    length = sizeof(sockaddr_in);
  }
  EXPECT_EQ(bind(s.fd(), reinterpret_cast<sockaddr*>(&from), length), 0) << source;
  EXPECT_EQ(connect(s.fd(), reinterpret_cast<sockaddr*>(&to), length), 0) << source;
  fcntl(s.fd(), F_SETFL, fcntl(s.fd(), F_GETFL) | O_NONBLOCK);
  return HttpClient(std::move(s));
}

std::optional<Response> round_trip(HttpClient& client, const std::string& raw) {
  EXPECT_TRUE(client.send(raw));
  return client.read_response();
}

class HttpRulesTest : public HttpSluiceTest {
 protected:
  Upstream a_{echo_handler("a")};
  Upstream b_{echo_handler("b")};
};

struct RedirectCase {
  std::string target, host;
  int status;
  std::string location;  // for redirects; else the upstream and the target it saw
  std::string upstream = {}, upstream_target = {}, upstream_host = {};
};

TEST_F(HttpRulesTest, RedirectAndRewriteTables) {
  HttpConfig config;
  config.clusters = {{"a", {a_.address()}}, {"b", {b_.address()}}};
  config.routes = {
      "{ match: { path_prefix: /old/ }, redirect: { status: 301, prefix: /new/ } }",
      "{ match: { host: example.com }, redirect: { status: 308, host: www.example.com } }",
      "{ match: { path_exact: /secure }, redirect: { scheme: https, strip_query: true } }",
      "{ match: { path_regex: '/u/[0-9]+' }, redirect: { status: 307, regex: { pattern: "
      "'^/u/([0-9]+)$', substitution: '/users/$1' } } }",
      "{ match: { path_prefix: /api/ }, rewrite: { prefix: /v2/, host: backend.internal }, "
      "cluster: a }",
      "{ match: { path_regex: '/items/[0-9]+/detail' }, rewrite: { regex: { pattern: "
      "'^/items/([0-9]+)/detail$', substitution: '/item/$1' } }, cluster: b }",
      "{ match: { path_prefix: /q, query: [{ name: v, exact: '2' }] }, cluster: b }",
      "{ match: { path_prefix: / }, cluster: a }",
  };
  ASSERT_TRUE(start_sluice(config));
  const std::vector<RedirectCase> cases = {
      {"/old/page?x=1", "t:8080", 301, "http://t:8080/new/page?x=1"},
      {"/old/", "t", 301, "http://t/new/"},
      {"/any?q", "Example.com", 308, "http://www.example.com/any?q"},
      {"/secure?token=1", "shop.test:8080", 302, "https://shop.test/secure"},
      {"/u/42?a=b", "t", 307, "http://t/users/42?a=b"},
      {"/u/42/x", "t", 200, "", "a", "/u/42/x", "t"},  // the regex matches whole paths only
      {"/api/users?id=3", "t", 200, "", "a", "/v2/users?id=3", "backend.internal"},
      {"/items/17/detail?full", "t", 200, "", "b", "/item/17?full", "t"},
      {"/q?v=2", "t", 200, "", "b", "/q?v=2", "t"},
      {"/q?v=3", "t", 200, "", "a", "/q?v=3", "t"},
  };
  HttpClient client = connect();  // all over one connection: redirects keep it alive
  for (const auto& c : cases) {
    auto r = round_trip(client, request("GET", c.target, c.host));
    ASSERT_TRUE(r) << c.target;
    EXPECT_EQ(r->status, c.status) << c.target;
    if (!c.location.empty()) {
      EXPECT_EQ(r->header("location"), c.location) << c.target;
      EXPECT_EQ(r->header("content-length"), "0") << c.target;
      continue;
    }
    EXPECT_EQ(r->header("x-upstream-name"), c.upstream) << c.target;
    EXPECT_EQ(r->header("x-upstream-target"), c.upstream_target) << c.target;
    Upstream& up = c.upstream == "a" ? a_ : b_;
    auto seen = up.last();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->header("host"), c.upstream_host) << c.target;
    EXPECT_EQ(seen->header("x-forwarded-host"), c.host) << c.target;  // the client's Host
  }
}

TEST_F(HttpRulesTest, HeaderRulesOnRequestsAndResponses) {
  HttpConfig config;
  config.clusters = {{"a", {a_.address()}}};
  config.listener_extra =
      "    headers:\n"
      "      request:\n"
      "        remove: [X-Secret]\n"
      "        set: { X-Client: '%{client_ip}' }\n"
      "        add: { X-Via: sluice }\n"
      "      response:\n"
      "        add: { X-Served-By: sluice }\n";
  config.routes = {
      "{ match: { path_prefix: /r/ }, cluster: a, headers: { request: { set: { X-Req: "
      "'%{request_id}|%{host}|%{tls_sni}|100%%' }, remove: [X-Via] }, response: { set: { "
      "X-Upstream-Name: hidden } } } }",
      "{ match: { path_prefix: / }, cluster: a }",
  };
  ASSERT_TRUE(start_sluice(config));
  auto r = fetch(request("GET", "/r/1", "h.test", "X-Secret: s\r\nX-Client: forged\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("x-upstream-name"), "hidden");
  EXPECT_EQ(r->count("x-upstream-name"), 1u);
  EXPECT_EQ(r->header("x-served-by"), "sluice");
  auto seen = a_.last();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->count("x-secret"), 0u);
  EXPECT_EQ(seen->count("x-client"), 1u);
  EXPECT_EQ(seen->header("x-client"), "127.0.0.1");
  EXPECT_EQ(seen->count("x-via"), 0u);  // the route removed the listener's
  const auto id = seen->header("x-request-id");
  ASSERT_TRUE(id);
  EXPECT_EQ(seen->header("x-req"), *id + "|h.test||100%");  // no TLS: an empty SNI

  r = fetch(request("GET", "/other", "h.test", "X-Via: client\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("x-upstream-name"), "a");
  seen = a_.last();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->header("x-via"), "client");  // add keeps the client's own
  EXPECT_EQ(seen->count("x-via"), 2u);
  EXPECT_EQ(seen->count("x-req"), 0u);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(HttpRulesTest, CidrAllowDenyForIpv4AndIpv6) {
  HttpConfig config;
  config.listen_host = "[::]";
  config.clusters = {{"a", {a_.address()}}};
  const std::string log = dir_.path() + "/access.log";
  config.extra = "log: { access: { path: " + log + ", format: json } }\n";
  config.listener_extra = "    access: { allow: [127.0.0.0/8, '::1'], deny: [127.0.0.2] }\n";
  config.routes = {
      "{ match: { path_prefix: /v6/ }, cluster: a, access: { allow: ['::1/128'] } }",
      "{ match: { path_prefix: /v4/ }, cluster: a, access: { deny: ['::/0'] } }",
      "{ match: { path_prefix: / }, cluster: a }",
  };
  ASSERT_TRUE(start_sluice(config));
  struct Case {
    std::string from, target;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1", "/", 200, ""},
      {"::1", "/", 200, ""},
      {"127.0.0.2", "/", 403, "listener-access-denied"},
      {"127.0.0.1", "/v6/x", 403, "route-access-denied"},
      {"::1", "/v6/x", 200, ""},
      {"127.0.0.1", "/v4/x", 200, ""},
      {"::1", "/v4/x", 403, "route-access-denied"},
  };
  for (const auto& c : cases) {
    HttpClient client = connect_from(c.from, port());
    auto r = round_trip(client, request("GET", c.target));
    ASSERT_TRUE(r) << c.from << " " << c.target;
    EXPECT_EQ(r->status, c.status) << c.from << " " << c.target;
    if (!c.code.empty()) {
      EXPECT_EQ(r->header("x-sluice-error"), c.code) << c.from << c.target;
    }
    // A refusal is an ordinary answer: the connection goes on.
    auto again = round_trip(client, request("GET", c.target));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, c.status);
  }
  EXPECT_EQ(a_.requests(), 8u);
  // The access log says who was refused and why.
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text = read_file(log);
    if (text.find("\"client\":\"[::1]") != std::string::npos &&
        text.find("route-access-denied") != std::string::npos &&
        text.find("listener-access-denied") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(text.find("listener-access-denied"), std::string::npos) << text;
  EXPECT_NE(text.find("127.0.0.2"), std::string::npos) << text;
}

TEST_F(HttpRulesTest, ForwardedForBehindATrustedProxyNamesTheClient) {
  HttpConfig config;
  config.clusters = {{"a", {a_.address()}}};
  config.listener_extra =
      "    trusted_proxies: [127.0.0.1]\n"
      "    headers: { request: { set: { X-Client: '%{client_ip}' } } }\n";
  config.routes = {"{ match: { path_prefix: / }, cluster: a, access: { deny: [203.0.113.0/24] } }"};
  ASSERT_TRUE(start_sluice(config));
  struct Case {
    std::string from, xff;
    int status;
    std::string client, forwarded;  // what the endpoint sees
  };
  const std::vector<Case> cases = {
      {"127.0.0.1", "198.51.100.7", 200, "198.51.100.7", "198.51.100.7, 127.0.0.1"},
      {"127.0.0.1", "6.6.6.6, 198.51.100.7", 200, "198.51.100.7",
       "6.6.6.6, 198.51.100.7, 127.0.0.1"},
      {"127.0.0.1", "203.0.113.5", 403, "", ""},
      {"127.0.0.1", "203.0.113.5, 127.0.0.1", 403, "", ""},  // trusted hops are skipped
      {"127.0.0.1", "", 200, "127.0.0.1", "127.0.0.1"},
      // Not a trusted proxy: its X-Forwarded-For names nobody.
      {"127.0.0.2", "203.0.113.5", 200, "127.0.0.2", "203.0.113.5, 127.0.0.2"},
  };
  for (const auto& c : cases) {
    HttpClient client = connect_from(c.from, port());
    const std::string extra = c.xff.empty() ? "" : "X-Forwarded-For: " + c.xff + "\r\n";
    auto r = round_trip(client, request("GET", "/", "t", extra));
    ASSERT_TRUE(r) << c.from << " " << c.xff;
    EXPECT_EQ(r->status, c.status) << c.from << " " << c.xff;
    if (c.status != 200) continue;
    auto seen = a_.last();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->header("x-client"), c.client) << c.xff;
    EXPECT_EQ(seen->header("x-forwarded-for"), c.forwarded) << c.xff;
  }
}

}  // namespace
}  // namespace sluice::testing
