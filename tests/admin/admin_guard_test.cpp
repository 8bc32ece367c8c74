// admin_guard: which Host and Origin values the admin listener accepts for each kind of listen
// address, and that a request changing something needs X-Sluice-Admin (issue #13, item 8).
#include "proxy/control/admin/admin_guard.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "config/scalars.hpp"

namespace sluice::proxy::admin {
namespace {

AdminListen listen_on(const std::string& address) {
  auto parsed = config::parse_address(address);
  EXPECT_TRUE(parsed) << address;
  AdminListen l{*parsed.value, 0};
  const auto* sa = reinterpret_cast<const sockaddr_in*>(&l.address.storage);
  l.port = ntohs(sa->sin_port);  // sin_port and sin6_port sit at the same offset
  return l;
}

AdminRequest request(std::vector<std::pair<std::string, std::string>> headers,
                     std::string method = "GET", std::string path = "/config") {
  AdminRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers = std::move(headers);
  return r;
}

// The status refuse_foreign answers with Host `host` (0: it lets the request through).
int host_status(const AdminListen& l, const std::string& host,
                const std::vector<std::string>& allowed = {}) {
  auto refusal = refuse_foreign(request({{"Host", host}}), l, allowed);
  return refusal ? refusal->status : 0;
}

TEST(AdminGuardHost, LoopbackListenerAnswersToItsLoopbackForms) {
  const AdminListen l = listen_on("127.0.0.1:9901");
  for (const char* host : {"127.0.0.1:9901", "127.0.0.1", "localhost:9901", "LOCALHOST",
                           "[::1]:9901", "[0:0::1]", "127.0.0.2:9901", "[::ffff:127.0.0.1]:9901"})
    EXPECT_EQ(host_status(l, host), 0) << host;
  // DNS rebinding: the attacker's name, whatever it resolves to now.
  for (const char* host : {"evil.example:9901", "evil.example", "10.0.0.1:9901", "[::2]:9901",
                           "127.0.0.1:9902", "localhost:80", "sluice:9901", "admin"})
    EXPECT_EQ(host_status(l, host), 403) << host;
  EXPECT_EQ(host_status(l, "sluice:9901", {"sluice"}), 0);
  EXPECT_EQ(host_status(l, "Sluice", {"sluice"}), 0);
  EXPECT_EQ(host_status(l, "sluice:9902", {"sluice"}), 403);
}

TEST(AdminGuardHost, WildcardListenerAnswersToAnyAddressButNoUnknownName) {
  for (const char* listen : {"0.0.0.0:9901", "[::]:9901"}) {
    const AdminListen l = listen_on(listen);
    for (const char* host :
         {"10.1.2.3:9901", "[2001:db8::1]:9901", "localhost:9901", "127.0.0.1", "[::1]:9901"})
      EXPECT_EQ(host_status(l, host), 0) << listen << " " << host;
    for (const char* host : {"sluice:9901", "evil.example", "10.1.2.3:80"})
      EXPECT_EQ(host_status(l, host), 403) << listen << " " << host;
    EXPECT_EQ(host_status(l, "sluice:9901", {"sluice"}), 0) << listen;
  }
}

TEST(AdminGuardHost, OneAddressListenerAnswersToThatAddressOnly) {
  const AdminListen l = listen_on("10.0.0.5:9901");
  EXPECT_EQ(host_status(l, "10.0.0.5:9901"), 0);
  for (const char* host : {"127.0.0.1:9901", "localhost:9901", "10.0.0.6:9901", "[::1]:9901"})
    EXPECT_EQ(host_status(l, host), 403) << host;
  EXPECT_EQ(host_status(l, "203.0.113.7:9901", {"203.0.113.7"}), 0);  // behind NAT
}

TEST(AdminGuardHost, MissingDuplicateOrMalformedHostIs400) {
  const AdminListen l = listen_on("127.0.0.1:9901");
  auto status = [&](std::vector<std::pair<std::string, std::string>> headers) {
    auto refusal = refuse_foreign(request(std::move(headers)), l, {});
    return refusal ? refusal->status : 0;
  };
  EXPECT_EQ(status({}), 400);  // HTTP/1.1 must send Host
  AdminRequest http10 = request({});
  http10.version = 10;
  EXPECT_FALSE(refuse_foreign(http10, l, {}));  // HTTP/1.0 need not, and browsers always do
  http10.headers = {{"Origin", "http://127.0.0.1:9901"}};
  EXPECT_TRUE(refuse_foreign(http10, l, {}));
  EXPECT_EQ(status({{"Host", "127.0.0.1:9901"}, {"host", "127.0.0.1:9901"}}), 400);
  for (const char* host : {"", "[::1", "[::1]x", "a:b:c", "127.0.0.1:99999", "127.0.0.1:x",
                           "[localhost]:9901", "bad host", "localhost.:9901"})
    EXPECT_EQ(status({{"Host", host}}), 400) << host;
  auto refusal = refuse_foreign(request({}), l, {});
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->body,
            "bad request: the admin API needs one Host header naming it, like 127.0.0.1:9901\n");
  refusal = refuse_foreign(request({{"Host", "evil.example:9901"}}), l, {});
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->body,
            "forbidden: Host 'evil.example:9901' does not name this admin listener "
            "(127.0.0.1:9901); a name other than its address needs admin.allowed_hosts\n");
}

TEST(AdminGuardOrigin, OnlyTheAdminsOwnOrigin) {
  const AdminListen l = listen_on("127.0.0.1:9901");
  auto status = [&](const std::string& host, const std::string& origin) {
    auto refusal = refuse_foreign(request({{"Host", host}, {"Origin", origin}}, "POST"), l, {});
    return refusal ? refusal->status : 0;
  };
  EXPECT_EQ(status("127.0.0.1:9901", "http://127.0.0.1:9901"), 0);
  EXPECT_EQ(status("127.0.0.1:9901", "HTTP://127.0.0.1:9901"), 0);
  EXPECT_EQ(status("localhost:9901", "http://LocalHost:9901"), 0);
  EXPECT_EQ(status("[::1]:9901", "http://[0::1]:9901"), 0);
  for (const char* origin :
       {"http://evil.example", "null", "https://127.0.0.1:9901", "http://127.0.0.1:8000",
        "http://localhost:9901", "http://127.0.0.1", "http://127.0.0.1:9901/", "", "http://"})
    EXPECT_EQ(status("127.0.0.1:9901", origin), 403) << origin;
  auto refusal = refuse_foreign(
      request({{"Host", "127.0.0.1:9901"}, {"origin", "http://evil.example"}}), l, {});
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->body,
            "forbidden: cross-origin request (Origin: http://evil.example); the admin API does "
            "not serve web pages\n");
  // Every Origin field counts, not only the first.
  EXPECT_TRUE(refuse_foreign(request({{"Host", "127.0.0.1:9901"},
                                      {"Origin", "http://127.0.0.1:9901"},
                                      {"Origin", "http://evil.example"}}),
                             l, {}));
  // An origin on port 80 is written without it.
  EXPECT_FALSE(refuse_foreign(request({{"Host", "127.0.0.1"}, {"Origin", "http://127.0.0.1"}}),
                              listen_on("127.0.0.1:80"), {}));
}

TEST(AdminGuardMutation, NeedsTheCustomHeader) {
  const AdminListen any = listen_on("0.0.0.0:9901");
  EXPECT_FALSE(refuse_unmarked(
      request({{"Host", "127.0.0.1:9901"}, {"X-Sluice-Admin", "1"}}, "POST", "/reload"), any));
  EXPECT_FALSE(refuse_unmarked(
      request({{"Host", "127.0.0.1:9901"}, {"x-sluice-admin", ""}}, "POST", "/reload"), any));
  const AdminListen l = listen_on("127.0.0.1:9901");
  auto refusal = refuse_unmarked(request({{"Host", "127.0.0.1:9901"}}, "POST", "/drain"), l);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 403);
  EXPECT_EQ(refusal->body,
            "forbidden: POST /drain needs the header X-Sluice-Admin, which a web page cannot "
            "send: curl -X POST -H 'X-Sluice-Admin: 1' http://127.0.0.1:9901/drain\n");
}

}  // namespace
}  // namespace sluice::proxy::admin
