// The admin surface and Redis credentials in the config (issue #13, item 8): admin.allowed_hosts,
// the warning for an admin listener off loopback, redis username/password/password_file, the
// refused redis.tls, and /config never printing a secret (header-match values, passwords).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>

#include "config/parse.hpp"
#include "config/to_json.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using testing::errors_of;
using ::testing::HasSubstr;
using testing::kMinimal;

Config parse_ok(const std::string& text) {
  ParseResult result = parse_config_text(text, "t.yaml");
  EXPECT_TRUE(result.ok()) << result.errors[0].to_string();
  return result.config;
}

// A file holding `content`, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char path[] = "/tmp/sluice-secret-XXXXXX";
    const int fd = ::mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
    path_ = path;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(AdminAllowedHosts, CanonicalNamesAndAddresses) {
  Config c = parse_ok(kMinimal +
                      "admin: { allowed_hosts: [Sluice, metrics.internal, \"[::1]\", 10.0.0.5, "
                      "\"0:0::2\"] }\n");
  EXPECT_THAT(c.admin->allowed_hosts,
              ElementsAre("sluice", "metrics.internal", "::1", "10.0.0.5", "::2"));
  EXPECT_TRUE(parse_ok(kMinimal + "admin: {}\n").admin->allowed_hosts.empty());
  EXPECT_THAT(errors_of(kMinimal + "admin: { allowed_hosts: [\"sluice:9901\", \"a b\", a/b] }\n"),
              ElementsAre("t.yaml:9:26: admin.allowed_hosts[0]: expected a host name or an IP "
                          "address, without a port, got 'sluice:9901'",
                          "t.yaml:9:41: admin.allowed_hosts[1]: expected a host name or an IP "
                          "address, without a port, got 'a b'",
                          "t.yaml:9:48: admin.allowed_hosts[2]: expected a host name or an IP "
                          "address, without a port, got 'a/b'"));
  EXPECT_THAT(errors_of(kMinimal + "admin: { allowed_hosts: [\"[sluice]\"] }\n"),
              ElementsAre("t.yaml:9:26: admin.allowed_hosts[0]: expected a host name or an IP "
                          "address, without a port, got '[sluice]'"));
}

TEST(AdminWarning, OffLoopbackIsAWarningNotAnError) {
  for (const char* listen : {"127.0.0.1:9901", "127.0.0.2:9901", "\"[::1]:9901\"", "localhost:9"})
    EXPECT_TRUE(parse_ok(kMinimal + "admin: { listen: " + listen + " }\n").warnings.empty())
        << listen;
  EXPECT_TRUE(parse_ok(kMinimal + "admin: {}\n").warnings.empty());
  EXPECT_TRUE(parse_ok(kMinimal).warnings.empty());

  for (const char* listen : {"0.0.0.0:9901", "\"[::]:9901\"", "10.1.2.3:9901"}) {
    ParseResult result =
        parse_config_text(kMinimal + "admin: { listen: " + listen + " }\n", "t.yaml");
    EXPECT_TRUE(result.ok()) << listen;
    ASSERT_EQ(result.config.warnings.size(), 1u) << listen;
    const Warning& w = result.config.warnings[0];
    EXPECT_EQ(w.line, 9);
    EXPECT_EQ(w.column, 18);
    std::string text = listen;
    if (text.front() == '"') text = text.substr(1, text.size() - 2);
    EXPECT_EQ(w.message, "admin.listen: " + text +
                             " is not a loopback address; the admin API has no authentication "
                             "and can reload and drain sluice: keep this port off public "
                             "networks");
  }
}

const std::string kRedis = "redis:\n  address: 127.0.0.1:6379\n";

TEST(RedisAuth, PasswordAndUsername) {
  Config c = parse_ok(kMinimal + kRedis + "  password: s3cret\n");
  EXPECT_EQ(c.redis->password, "s3cret");
  EXPECT_EQ(c.redis->username, "");
  c = parse_ok(kMinimal + kRedis + "  username: sluice\n  password: s3cret\n");
  EXPECT_EQ(c.redis->username, "sluice");
  EXPECT_EQ(c.redis->password, "s3cret");
  c = parse_ok(kMinimal + kRedis);
  EXPECT_EQ(c.redis->password, "");
  EXPECT_FALSE(c.redis->tls.has_value());
}

TEST(RedisTimeout, DefaultsTo100msAndMustBeLongerThan0) {
  EXPECT_EQ(parse_ok(kMinimal + kRedis).redis->timeout, Duration(100));
  EXPECT_EQ(parse_ok(kMinimal + kRedis + "  timeout: 2s\n").redis->timeout, Duration(2000));
  EXPECT_THAT(errors_of(kMinimal + kRedis + "  timeout: 0s\n"),
              ElementsAre(HasSubstr("redis.timeout: must be longer than 0")));
}

TEST(RedisAuth, PasswordFileIsReadWithoutItsNewline) {
  TempFile file("from a file\n");
  Config c = parse_ok(kMinimal + kRedis + "  password_file: " + file.path() + "\n");
  EXPECT_EQ(c.redis->password, "from a file");
  EXPECT_EQ(c.redis->password_file, file.path());
  TempFile crlf("pw\r\n");
  EXPECT_EQ(parse_ok(kMinimal + kRedis + "  password_file: " + crlf.path() + "\n").redis->password,
            "pw");
}

TEST(RedisAuth, Errors) {
  EXPECT_THAT(errors_of(kMinimal + kRedis + "  username: sluice\n"),
              ElementsAre("t.yaml:11:3: redis.username: needs password or password_file (AUTH "
                          "username password)"));
  EXPECT_THAT(errors_of(kMinimal + kRedis + "  password: \"\"\n"),
              ElementsAre("t.yaml:11:13: redis.password: must not be empty"));
  TempFile file("pw");
  EXPECT_THAT(
      errors_of(kMinimal + kRedis + "  password: a\n  password_file: " + file.path() + "\n"),
      ElementsAre("t.yaml:12:3: redis.password_file: use password or password_file, not "
                  "both"));
  EXPECT_THAT(errors_of(kMinimal + kRedis + "  password_file: /nonexistent/pw\n"),
              ElementsAre("t.yaml:11:18: redis.password_file: cannot read /nonexistent/pw: No "
                          "such file or directory"));
  TempFile empty("\n");
  EXPECT_THAT(errors_of(kMinimal + kRedis + "  password_file: " + empty.path() + "\n"),
              ElementsAre("t.yaml:11:18: redis.password_file: " + empty.path() + " is empty"));
  EXPECT_THAT(errors_of(kMinimal + kRedis + "  password_file: /dev/zero\n"),
              ElementsAre("t.yaml:11:18: redis.password_file: /dev/zero is not a regular file"));
  TempFile big(std::string(64 * 1024 + 1, 'x'));
  EXPECT_THAT(
      errors_of(kMinimal + kRedis + "  password_file: " + big.path() + "\n"),
      ElementsAre("t.yaml:11:18: redis.password_file: " + big.path() + " is longer than 64 KiB"));
}

TEST(RedisTls, ParsedThenRefusedUntilHiredisHasSsl) {
  EXPECT_THAT(errors_of(kMinimal + kRedis + "  tls: { ca_file: /etc/ca.pem, server_name: r }\n"),
              ElementsAre("t.yaml:11:3: redis.tls is not supported yet: needs hiredis >= 1.0 "
                          "with SSL"));
  // Still validated like any section.
  EXPECT_THAT(
      errors_of(kMinimal + kRedis + "  tls: { ca: x }\n"),
      ElementsAre("t.yaml:11:3: redis.tls is not supported yet: needs hiredis >= 1.0 "
                  "with SSL",
                  "t.yaml:11:10: redis.tls.ca: unknown key (expected one of ca_file, cert_file, "
                  "key_file, server_name)"));
}

TEST(ConfigJson, SecretsNeverAppear) {
  TempFile file("file-secret\n");
  const std::string yaml = R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    routes:
      - match: { headers: [{ name: Authorization, exact: "Bearer tok-123" },
                           { name: X-Empty, exact: "" }, { name: X-Present }] }
        cluster: c
clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
)";
  const std::string inline_pw = yaml + kRedis + "  username: sluice\n  password: pw-inline\n";
  const std::string text = to_json(parse_ok(inline_pw));
  EXPECT_EQ(text.find("tok-123"), std::string::npos) << text;
  EXPECT_EQ(text.find("pw-inline"), std::string::npos) << text;
  json::value v = json::parse(text);
  EXPECT_EQ(v.at("listeners").at(0).at("routes").at(0).at("match").at("headers"),
            json::parse(R"([{"name": "Authorization", "exact": "<redacted>"},
                            {"name": "X-Empty", "exact": "<redacted>"},
                            {"name": "X-Present", "exact": null}])"));
  EXPECT_EQ(v.at("redis"), json::parse(R"({"address": "127.0.0.1:6379", "sync_interval": "50ms",
    "timeout": "100ms", "on_error": "allow", "username": "sluice", "password": "<redacted>", "password_file": null,
    "tls": null})"));

  const std::string from_file =
      to_json(parse_ok(yaml + kRedis + "  password_file: " + file.path() + "\n"));
  EXPECT_EQ(from_file.find("file-secret"), std::string::npos) << from_file;
  EXPECT_EQ(from_file.find(file.path()), std::string::npos) << from_file;
  EXPECT_EQ(json::parse(from_file).at("redis"),
            json::parse(R"({"address": "127.0.0.1:6379", "sync_interval": "50ms",
    "timeout": "100ms", "on_error": "allow", "username": null, "password": null, "password_file": "<redacted>",
    "tls": null})"));
}

}  // namespace
}  // namespace sluice::config
