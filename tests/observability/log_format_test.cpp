// How sluice's own log looks on stderr (issue #15): in text, every line of a multi-line
// message (a refused reload lists every error) carries the time and level; with
// `log.format: json`, every line is one JSON object with time, level and msg, and a
// multi-line message stays one object.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

class LogFormatTest : public ObsTest {
 protected:
  std::string config(const std::string& log_section) {
    Backend& a = add_backend("a");
    return "workers: 1\n" + admin_yaml() + log_section +
           "listeners:\n"
           "  - { name: web, listen: 127.0.0.1:" +
           std::to_string(free_loopback_port()) +
           ", protocol: http, routes: [{ match: {}, cluster: a }] }\n"
           "clusters:\n"
           "  - { name: a, endpoints: [{ address: " +
           a.address() + " }] }\n";
  }
  // A reload that fails with two errors: its log message has several lines.
  void refused_reload() {
    write_config("workers: lots\nlisteners: []\n");
    EXPECT_EQ(admin("POST", "/reload").status, 400);
  }
  std::vector<std::string> stderr_lines() {
    std::vector<std::string> lines;
    std::istringstream in(sluice().stderr_text());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

TEST_F(LogFormatTest, TextPrefixesEveryLineOfAMultiLineMessage) {
  ASSERT_TRUE(start_sluice(config("")));
  refused_reload();
  const std::regex prefix(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warn|error) .*)");
  const std::vector<std::string> lines = stderr_lines();
  size_t reload_lines = 0;
  for (const std::string& line : lines) {
    EXPECT_TRUE(std::regex_match(line, prefix)) << "no time and level: " << line;
    reload_lines += line.find("workers: expected auto") != std::string::npos;
  }
  EXPECT_EQ(reload_lines, 1u) << sluice().stderr_text();
}

TEST_F(LogFormatTest, JsonIsOneObjectPerMessage) {
  ASSERT_TRUE(start_sluice(config("log: { format: json }\n")));
  refused_reload();
  bool saw_reload = false;
  for (const std::string& line : stderr_lines()) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(v.is_object()) << line;
    const boost::json::object& o = v.as_object();
    EXPECT_TRUE(o.contains("time") && o.contains("level") && o.contains("msg")) << line;
    const std::string msg(o.at("msg").as_string());
    if (msg.find("reload failed") != std::string::npos) {
      saw_reload = true;
      EXPECT_EQ(o.at("level"), "error");
      // The errors stay inside the one message, one per line.
      EXPECT_NE(msg.find(":\n"), std::string::npos) << msg;
      EXPECT_NE(msg.find("workers: expected auto"), std::string::npos) << msg;
    }
  }
  EXPECT_TRUE(saw_reload) << sluice().stderr_text();
}

}  // namespace
}  // namespace sluice::testing
