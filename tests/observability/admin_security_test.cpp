// The admin surface against a web page in an operator's browser and against a shared /config
// (issue #13, item 8), through the real binary: header-match values redacted in /config; form
// posts, cross-origin requests and DNS-rebinding Hosts refused with 403 while curl-shaped
// requests work; admin.allowed_hosts; the warning for an admin listener off loopback, from
// --validate and at start.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/json.hpp>
#include <chrono>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

class AdminSecurityTest : public ObsTest {
 protected:
  // One http listener whose route matches a bearer token.
  std::string yaml(const std::string& admin) {
    Backend& a = backends_.empty() ? add_backend("a") : backends_.front();
    if (port_ == 0) port_ = free_loopback_port();
    return "workers: 1\n" + admin +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    routes:\n"
           "      - name: internal\n"
           "        match: { headers: [{ name: Authorization, exact: \"Bearer s3cret-t0ken\" }] }\n"
           "        cluster: a\n"
           "clusters:\n"
           "  - { name: a, endpoints: [{ address: " +
           a.address() + " }] }\n";
  }

  // `method path` with exactly these header lines (each ending in \r\n).
  AdminReply raw(const std::string& method, const std::string& path, const std::string& headers) {
    std::string request = method + " " + path + " HTTP/1.1\r\n" + headers;
    if (method == "POST") request += "Content-Length: 0\r\n";
    return admin_exchange(admin_port(), request + "\r\n");
  }
  std::string host() { return "Host: 127.0.0.1:" + std::to_string(admin_port()) + "\r\n"; }

  uint16_t port_ = 0;
};

TEST_F(AdminSecurityTest, ConfigRedactsHeaderMatchValues) {
  ASSERT_TRUE(start_sluice(yaml(admin_yaml())));
  AdminReply r = admin("GET", "/config");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body.find("s3cret-t0ken"), std::string::npos) << r.body;
  const json::value headers =
      json::parse(r.body).at("listeners").at(0).at("routes").at(0).at("match").at("headers");
  EXPECT_EQ(headers, json::parse(R"([{"name": "Authorization", "exact": "<redacted>"}])"));
}

TEST_F(AdminSecurityTest, WebPagesCannotDrainReloadOrRead) {
  ASSERT_TRUE(start_sluice(yaml(admin_yaml())));
  // A form on any web site, posted by the operator's browser: no custom header.
  AdminReply form = raw("POST", "/drain",
                        host() +
                            "Origin: http://evil.example\r\n"
                            "Content-Type: application/x-www-form-urlencoded\r\n");
  EXPECT_EQ(form.status, 403) << form.raw;
  EXPECT_EQ(form.body,
            "forbidden: cross-origin request (Origin: http://evil.example); the admin API does "
            "not serve web pages\n");
  // The same without Origin (older browsers, privacy settings): the missing header refuses it.
  AdminReply plain = raw("POST", "/drain", host() + "Content-Type: text/plain\r\n");
  EXPECT_EQ(plain.status, 403) << plain.raw;
  EXPECT_EQ(plain.body,
            "forbidden: POST /drain needs the header X-Sluice-Admin, which a web page "
            "cannot send: curl -X POST -H 'X-Sluice-Admin: 1' http://127.0.0.1:" +
                std::to_string(admin_port()) + "/drain\n");
  EXPECT_EQ(raw("POST", "/reload", host()).status, 403);
  // A script on a name rebound to 127.0.0.1: its own Host, and it could set any header.
  const std::string rebound = "Host: rebind.evil.example:" + std::to_string(admin_port()) + "\r\n";
  EXPECT_EQ(raw("GET", "/config", rebound).status, 403);
  EXPECT_EQ(raw("POST", "/drain", rebound + "X-Sluice-Admin: 1\r\n").status, 403);
  // Cross-origin with the header (a preflight the admin never approves would come first).
  EXPECT_EQ(raw("POST", "/reload", host() + "X-Sluice-Admin: 1\r\nOrigin: null\r\n").status, 403);

  // None of that drained or reloaded anything.
  EXPECT_EQ(admin("GET", "/ready").status, 200);
  EXPECT_EQ(scrape().get("sluice_config_reloads_total{result=\"success\"}"), 0);

  // What curl sends works, under every name a loopback listener has.
  const std::string port = std::to_string(admin_port());
  for (const std::string& name : {"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port})
    EXPECT_EQ(raw("GET", "/live", "Host: " + name + "\r\n").status, 200) << name;
  EXPECT_EQ(raw("POST", "/reload", host() + "X-Sluice-Admin: 1\r\n").status, 200);
  AdminReply same_origin = raw(
      "POST", "/drain", host() + "X-Sluice-Admin: 1\r\nOrigin: http://127.0.0.1:" + port + "\r\n");
  EXPECT_EQ(same_origin.status, 202) << same_origin.raw;
  EXPECT_TRUE(wait_refused(admin_port(), Millis(10000)));
}

TEST_F(AdminSecurityTest, WildcardListenerWarnsAndAnswersToAddressesAndAllowedHosts) {
  // A port free on every address: free_loopback_port() may hand out one that a connection of
  // another address (127.0.1.x) still holds in TIME_WAIT, which a wildcard bind collides with.
  // Taken after the backend and the listener's port, as ObsTest::admin_port() is.
  add_backend("a");
  port_ = free_loopback_port();
  admin_port_ = free_wildcard_port();
  ASSERT_NE(admin_port_, 0);
  const std::string port = std::to_string(admin_port());
  const std::string wildcard = "admin: { listen: 0.0.0.0:" + port + " }\n";
  // --validate: a warning, exit status 0.
  write_config(yaml(wildcard));
  Process validate =
      Process::spawn({obs_sluice_binary(), "--validate", config_path_}, dir_.path(), "validate");
  ExitStatus st = validate.wait(Millis(10000));
  EXPECT_TRUE(st.success()) << st.to_string() << validate.describe();
  const std::string warning = config_path_ + ":2:18: warning: admin.listen: 0.0.0.0:" + port +
                              " is not a loopback address; the admin API has no authentication "
                              "and can reload and drain sluice: keep this port off public "
                              "networks\n";
  EXPECT_EQ(validate.stderr_text(), warning);
  EXPECT_EQ(validate.stdout_text(), config_path_ + ": ok\n");

  // The same warning logged once at start.
  ASSERT_TRUE(start_sluice(yaml(wildcard)));
  const std::string log = sluice().stderr_text();
  const size_t at = log.find("warning: admin.listen: 0.0.0.0:" + port + " is not a loopback");
  EXPECT_NE(at, std::string::npos) << log;
  EXPECT_EQ(log.find("warning: admin.listen", at + 1), std::string::npos) << log;

  // Any address names a wildcard listener; a name only through admin.allowed_hosts.
  EXPECT_EQ(raw("GET", "/live", "Host: 127.0.0.1:" + port + "\r\n").status, 200);
  EXPECT_EQ(raw("GET", "/live", "Host: localhost:" + port + "\r\n").status, 200);
  EXPECT_EQ(raw("GET", "/metrics", "Host: sluice:" + port + "\r\n").status, 403);
  write_config(yaml("admin: { listen: 0.0.0.0:" + port + ", allowed_hosts: [sluice] }\n"));
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  EXPECT_EQ(raw("GET", "/metrics", "Host: sluice:" + port + "\r\n").status, 200);
  EXPECT_EQ(raw("GET", "/metrics", "Host: other:" + port + "\r\n").status, 403);
}

}  // namespace
}  // namespace sluice::testing
