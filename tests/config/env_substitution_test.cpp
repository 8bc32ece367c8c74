// ${NAME} and ${NAME:-default} in config values: the expansion itself, then what it does inside
// a config (positions, types, keys, aliases, secrets). The environment is injected, never set.
#include <gtest/gtest.h>

#include <map>

#include "config/env_substitution.hpp"
#include "config/to_json.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using testing::kMinimal;

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const EnvLookup kEnv = env_of({{"PORT", "9090"}, {"HOST", "10.0.0.1"}, {"EMPTY", ""}});

std::string expanded(std::string_view text) {
  Expansion e = expand_env(text, kEnv);
  EXPECT_EQ(e.error, "") << text;
  return e.text;
}

std::string error_of(std::string_view text) {
  return expand_env(text, kEnv).error;
}

TEST(ExpandEnv, WholeAndPartValues) {
  EXPECT_EQ(expanded("${PORT}"), "9090");
  EXPECT_EQ(expanded("${HOST}:${PORT}"), "10.0.0.1:9090");
  EXPECT_EQ(expanded("0.0.0.0:${PORT}/x"), "0.0.0.0:9090/x");
  EXPECT_EQ(expanded("no reference"), "no reference");
  EXPECT_TRUE(expand_env("${PORT}", kEnv).had_reference);
  EXPECT_FALSE(expand_env("$$PORT", kEnv).had_reference);
}

TEST(ExpandEnv, DefaultsWhenUnsetOrEmpty) {
  EXPECT_EQ(expanded("${MISSING:-8080}"), "8080");
  EXPECT_EQ(expanded("0.0.0.0:${MISSING:-8080}"), "0.0.0.0:8080");
  EXPECT_EQ(expanded("${EMPTY:-fallback}"), "fallback");
  EXPECT_EQ(expanded("${PORT:-8080}"), "9090");
  EXPECT_EQ(expanded("${MISSING:-}"), "");
  EXPECT_EQ(expanded("${MISSING:-a b: #c}"), "a b: #c");
  EXPECT_EQ(expanded("${MISSING:-$$5}"), "$5");
  // Set but empty is a value: only ${NAME:-...} replaces it.
  EXPECT_EQ(expanded("[${EMPTY}]"), "[]");
}

TEST(ExpandEnv, DollarDollarIsALiteralDollar) {
  EXPECT_EQ(expanded("pa$$word"), "pa$word");
  EXPECT_EQ(expanded("$${PORT}"), "${PORT}");
  EXPECT_EQ(expanded("$$$$"), "$$");
  EXPECT_EQ(expanded("$$${PORT}"), "$9090");
  // A $ before anything else is kept as written.
  EXPECT_EQ(expanded("pa$word$"), "pa$word$");
  EXPECT_EQ(expanded("$PORT"), "$PORT");
}

TEST(ExpandEnv, UnsetWithoutDefaultIsAnErrorNamingTheVariable) {
  EXPECT_EQ(error_of("${REDIS_PASSWORD}"),
            "environment variable 'REDIS_PASSWORD' is not set (give a default with "
            "${REDIS_PASSWORD:-...} if it may be missing)");
  EXPECT_EQ(error_of("${PORT}${NOPE}"),
            "environment variable 'NOPE' is not set (give a default with ${NOPE:-...} if it may "
            "be missing)");
}

TEST(ExpandEnv, MalformedReferencesAreErrors) {
  const std::string form = " (a reference is ${NAME} or ${NAME:-default}; $$ is a literal $)";
  EXPECT_EQ(error_of("${"), "'${' without a closing '}'" + form);
  EXPECT_EQ(error_of("a${PORT"), "'${' without a closing '}'" + form);
  EXPECT_EQ(error_of("${}"), "empty variable name in '${}'" + form);
  EXPECT_EQ(error_of("${:-x}"), "empty variable name in '${:-x}'" + form);
  EXPECT_EQ(error_of("${1X}"),
            "'1X' is not a variable name (letters, digits and _, not starting with a digit)");
  EXPECT_EQ(error_of("${-x}"),
            "'-x' is not a variable name (letters, digits and _, not starting with a digit)");
  EXPECT_EQ(error_of("${PORT-80}"), "unexpected '-80' after '${PORT'" + form);
  EXPECT_EQ(error_of("${PORT:?x}"), "unexpected ':?x' after '${PORT'" + form);
  EXPECT_EQ(error_of("${A:-${B}}"), "the default of '${A' holds '${': references do not nest");
}

ParseResult parse(const std::string& text, std::map<std::string, std::string> vars = {}) {
  ParseOptions options;
  options.env = env_of(std::move(vars));
  return parse_config_text(text, "t.yaml", options);
}

std::vector<std::string> errors(const ParseResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.errors) out.push_back(d.to_string());
  return out;
}

TEST(EnvInConfig, WholeAndPartialValues) {
  auto result = parse(R"(listeners:
  - name: web
    listen: "127.0.0.1:${PORT:-8080}"
    protocol: tcp
    cluster: ${CLUSTER}
clusters:
  - name: demo
    endpoints: [{ address: "${HOST}:9001" }]
)",
                      {{"CLUSTER", "demo"}, {"HOST", "127.0.0.2"}});
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(result.config.listeners[0].listen.text, "127.0.0.1:8080");
  EXPECT_EQ(result.config.listeners[0].cluster, "demo");
  EXPECT_EQ(result.config.clusters[0].endpoints[0].address.text, "127.0.0.2:9001");
}

TEST(EnvInConfig, UnsetVariableIsAnErrorAtTheValue) {
  auto result = parse(R"(listeners:
  - name: web
    listen: 127.0.0.1:${PORT}
    protocol: tcp
    cluster: demo
clusters:
  - name: demo
    endpoints: [{ address: "127.0.0.1:${BACKEND_PORT}" }]
)");
  EXPECT_EQ(errors(result),
            (std::vector<std::string>{
                "t.yaml:3:13: listeners[0].listen: environment variable 'PORT' is not set (give a "
                "default with ${PORT:-...} if it may be missing)",
                "t.yaml:8:28: clusters[0].endpoints[0].address: environment variable "
                "'BACKEND_PORT' is not set (give a default with ${BACKEND_PORT:-...} if it may "
                "be missing)"}));
}

TEST(EnvInConfig, MalformedReferenceIsAnErrorAtTheValue) {
  EXPECT_EQ(errors(parse(kMinimal + "drain_timeout: ${1X}\n")),
            (std::vector<std::string>{
                "t.yaml:9:16: drain_timeout: '1X' is not a variable name (letters, digits and _, "
                "not starting with a digit)"}));
  EXPECT_EQ(errors(parse(kMinimal + "drain_timeout: \"${\"\n")),
            (std::vector<std::string>{
                "t.yaml:9:16: drain_timeout: '${' without a closing '}' (a reference is ${NAME} "
                "or ${NAME:-default}; $$ is a literal $)"}));
}

TEST(EnvInConfig, NumbersFromTheEnvironmentAreNumbers) {
  auto plain =
      parse(kMinimal + "workers: ${WORKERS:-2}\nmax_connections: ${MAX}\n", {{"MAX", "500"}});
  ASSERT_TRUE(plain.ok()) << ::testing::PrintToString(errors(plain));
  EXPECT_EQ(plain.config.workers, 2u);
  EXPECT_EQ(plain.config.max_connections, 500u);

  // Quotes around a reference protect it from YAML; the expanded text decides the type.
  auto quoted = parse(kMinimal + "workers: \"${WORKERS}\"\nmax_connections: '${MAX:-7}'\n",
                      {{"WORKERS", "4"}});
  ASSERT_TRUE(quoted.ok()) << ::testing::PrintToString(errors(quoted));
  EXPECT_EQ(quoted.config.workers, 4u);
  EXPECT_EQ(quoted.config.max_connections, 7u);

  // A quoted number without a reference is still a string, as it always was.
  EXPECT_EQ(errors(parse(kMinimal + "max_connections: \"4\"\n")),
            (std::vector<std::string>{"t.yaml:9:18: max_connections: expected an integer, got "
                                      "the string '4' (quotes make a string: write 4 without "
                                      "them)"}));
  // And a value that is not a number is reported like a literal one.
  EXPECT_EQ(errors(parse(kMinimal + "max_connections: ${MAX}\n", {{"MAX", "lots"}})),
            (std::vector<std::string>{"t.yaml:9:18: max_connections: expected an integer, got "
                                      "'lots'"}));
}

TEST(EnvInConfig, KeysAreNotSubstituted) {
  EXPECT_EQ(errors(parse(kMinimal + "${KEY}: 1\n", {{"KEY", "workers"}})),
            (std::vector<std::string>{"t.yaml:9:1: ${KEY}: unknown key (expected one of "
                                      "workers, drain_timeout, max_connections, buffers, admin, "
                                      "log, listeners, clusters, rate_limits, redis, include)"}));
}

// An environment value is one scalar whatever it holds, and a secret stays redacted.
TEST(EnvInConfig, ValuesCannotChangeTheStructureAndSecretsStayRedacted) {
  const std::string redis = R"(redis:
  address: 127.0.0.1:6379
  username: "u$${NOT_A_REFERENCE}"
  password: ${REDIS_PASSWORD}
)";
  auto result = parse(kMinimal + redis, {{"REDIS_PASSWORD", "s3cret: {x: 1} # not a comment"}});
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  ASSERT_TRUE(result.config.redis);
  EXPECT_EQ(result.config.redis->password, "s3cret: {x: 1} # not a comment");
  EXPECT_EQ(result.config.redis->username, "u${NOT_A_REFERENCE}");
  const std::string json = to_json(result.config);
  EXPECT_EQ(json.find("s3cret"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("password":"<redacted>")"), std::string::npos) << json;
}

// An alias is the node it names: expanded once, so `$$` is not undone by a second pass.
TEST(EnvInConfig, AnAliasIsExpandedOnce) {
  auto result = parse(kMinimal + R"(redis:
  address: 127.0.0.1:6379
  username: &same "x$${Y}"
  password: *same
)");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(result.config.redis->username, "x${Y}");
  EXPECT_EQ(result.config.redis->password, "x${Y}");
}

TEST(EnvInConfig, TheProcessEnvironmentIsTheDefault) {
  // PATH is set in every test run; this is the one place the real environment is read.
  auto result = parse_config_text(kMinimal + "log: { access: { path: \"${PATH}\" } }\n", "t.yaml");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(result.config.log.access.path, *process_environment("PATH"));
  EXPECT_EQ(process_environment("SLUICE_SURELY_NOT_SET_ANYWHERE"), std::nullopt);
}

}  // namespace
}  // namespace sluice::config
