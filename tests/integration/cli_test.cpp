// The sluice command line: --version, --help, --validate, and what --config
// does with a file it cannot use.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/integration/sluice_fixture.hpp"

namespace sluice::testing {
namespace {

class CliTest : public ::testing::Test {
 protected:
  // Runs sluice to completion; its output is in `out`.
  ExitStatus run(const std::vector<std::string>& args, Millis timeout = Millis(10000)) {
    std::vector<std::string> argv = {sluice_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p = Process::spawn(argv, dir_.path(), "sluice-" + std::to_string(++runs_));
    ExitStatus st = p.wait(timeout);
    out_ = p.stdout_text();
    err_ = p.stderr_text();
    return st;
  }
  void TearDown() override {
    if (HasFailure()) dir_.keep();
  }

  // The line numbers of every "FILE:line:col: message" diagnostic about `file`.
  std::set<int> diagnostic_lines(const std::string& file) const {
    std::set<int> lines;
    std::regex re("^" + std::regex_replace(file, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                  R"(:(\d+):(\d+): .+$)");
    std::istringstream all(out_ + "\n" + err_);
    std::string line;
    std::smatch m;
    while (std::getline(all, line)) {
      if (std::regex_match(line, m, re)) lines.insert(std::stoi(m[1]));
    }
    return lines;
  }

  TempDir dir_{"cli"};
  int runs_ = 0;
  std::string out_, err_;
};

// Three mistakes on known lines: a wrong type (1), a dangling cluster
// reference (6) and an unknown key (7). All must be reported at once.
constexpr const char* kBadConfig =
    "workers: many\n"
    "listeners:\n"
    "  - name: t\n"
    "    listen: 127.0.0.1:1\n"
    "    protocol: tcp\n"
    "    cluster: nope\n"
    "    bogus_key: 3\n"
    "clusters:\n"
    "  - name: c\n"
    "    balancer: { type: round_robin }\n"
    "    endpoints: [ { address: 127.0.0.1:2 } ]\n";

std::string good_config() {
  TcpConfig c;
  c.listen_port = free_loopback_port();
  c.endpoints = {"127.0.0.1:9"};
  return c.to_yaml();
}

TEST_F(CliTest, VersionExitsZeroAndNamesTheProgram) {
  ExitStatus st = run({"--version"});
  EXPECT_TRUE(st.success()) << st.to_string();
  EXPECT_NE(out_.find("sluice"), std::string::npos) << out_;
}

TEST_F(CliTest, HelpExitsZeroAndShowsUsage) {
  ExitStatus st = run({"--help"});
  EXPECT_TRUE(st.success()) << st.to_string();
  EXPECT_NE(out_.find("--config"), std::string::npos) << out_;
  EXPECT_NE(out_.find("--validate"), std::string::npos) << out_;
}

// What a bug report needs, on three lines: build, libraries, kernel.
TEST_F(CliTest, VersionNamesCommitCompilerLibrariesAndKernel) {
  for (const char* flag : {"--version", "-v"}) {
    SCOPED_TRACE(flag);
    ExitStatus st = run({flag});
    EXPECT_TRUE(st.success()) << st.to_string();
    for (const char* part : {"(commit ", "built with ", "liburing ", "OpenSSL ", "kernel ",
                             "io_uring ", "buffer rings ", "features:"})
      EXPECT_NE(out_.find(part), std::string::npos) << part << " missing from:\n" << out_;
  }
}

TEST_F(CliTest, UnknownOptionSaysWhichAndShowsUsage) {
  ExitStatus st = run({"--no-such-option"});
  EXPECT_TRUE(st.exited) << st.to_string();
  EXPECT_EQ(st.code, 2);
  EXPECT_NE(err_.find("unknown option '--no-such-option'"), std::string::npos) << err_;
  EXPECT_NE(err_.find("usage:"), std::string::npos) << err_;
}

TEST_F(CliTest, WrongCommandLinesSayWhatIsWrong) {
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{}, "no command given"},
      {{"--config"}, "option '--config' needs a FILE"},
      {{"-t"}, "option '-t' needs a FILE"},
      {{"--validate="}, "option '--validate' needs a FILE"},
      {{"--help=yes"}, "option '--help' takes no value"},
      {{"-t", "a.yaml", "b.yaml"}, "unexpected argument 'b.yaml'"},
      {{"sluice.yaml"},
       "unexpected argument 'sluice.yaml' (to run a config: sluice --config "
       "sluice.yaml)"},
  };
  for (const auto& [args, message] : cases) {
    SCOPED_TRACE(message);
    ExitStatus st = run(args);
    EXPECT_EQ(st.code, 2) << st.to_string();
    EXPECT_NE(err_.find(message), std::string::npos) << err_;
  }
}

// HAProxy's and nginx's habits: -c FILE runs, -t FILE checks; --opt=FILE works too.
TEST_F(CliTest, ShortAliasesAndEqualsFormWork) {
  std::string good = dir_.write("good.yaml", good_config());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-t", good}, {"--validate=" + good}}) {
    ExitStatus st = run(args);
    EXPECT_TRUE(st.success()) << st.to_string() << err_;
    EXPECT_NE(out_.find(good + ": ok"), std::string::npos) << out_;
  }
  std::string bad = dir_.write("bad.yaml", kBadConfig);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-c", bad}, {"--config=" + bad}}) {
    ExitStatus st = run(args);
    EXPECT_EQ(st.code, 1) << st.to_string();
    EXPECT_FALSE(diagnostic_lines(bad).empty()) << out_ << err_;
  }
}

TEST_F(CliTest, ValidateAcceptsAGoodFile) {
  std::string path = dir_.write("good.yaml", good_config());
  ExitStatus st = run({"--validate", path});
  EXPECT_TRUE(st.success()) << st.to_string() << "\n" << out_ << err_;
  EXPECT_TRUE(diagnostic_lines(path).empty()) << out_ << err_;
}

TEST_F(CliTest, ValidateReportsEveryErrorWithFileLineAndColumn) {
  std::string path = dir_.write("bad.yaml", kBadConfig);
  ExitStatus st = run({"--validate", path});
  EXPECT_TRUE(st.exited) << st.to_string();
  EXPECT_NE(st.code, 0);
  std::set<int> lines = diagnostic_lines(path);
  EXPECT_TRUE(lines.count(1)) << "wrong type on line 1 not reported:\n" << out_ << err_;
  EXPECT_TRUE(lines.count(6)) << "dangling cluster on line 6 not reported:\n" << out_ << err_;
  EXPECT_TRUE(lines.count(7)) << "unknown key on line 7 not reported:\n" << out_ << err_;
}

// For tools: one JSON object with every error's line, column and message, same exit status.
TEST_F(CliTest, ValidateFormatJsonIsOneObjectForTools) {
  std::string bad = dir_.write("bad.yaml", kBadConfig);
  ExitStatus st = run({"--validate", bad, "--format", "json"});
  EXPECT_EQ(st.code, 1) << st.to_string();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(out_, ec);
  ASSERT_FALSE(ec) << out_;
  const boost::json::object& o = v.as_object();
  EXPECT_EQ(std::string(o.at("file").as_string()), bad);
  EXPECT_EQ(o.at("ok"), false);
  std::set<int64_t> lines;
  for (const auto& e : o.at("errors").as_array()) {
    lines.insert(e.at("line").as_int64());
    EXPECT_GT(e.at("column").as_int64(), 0);
    EXPECT_FALSE(e.at("message").as_string().empty());
  }
  EXPECT_EQ(lines, (std::set<int64_t>{1, 6, 7})) << out_;

  std::string good = dir_.write("good.yaml", good_config());
  st = run({"-t", good, "--format=json"});
  EXPECT_TRUE(st.success()) << st.to_string();
  EXPECT_EQ(
      boost::json::parse(out_),
      boost::json::parse(R"({"file":")" + good + R"(","ok":true,"errors":[],"warnings":[]})"));
  st = run({"-t", good, "--format", "yaml"});
  EXPECT_EQ(st.code, 2);
  EXPECT_NE(err_.find("option '--format' takes json or text, not 'yaml'"), std::string::npos)
      << err_;
}

// A reload plan without a running instance: what reloading FILE over the config file RUNNING
// would change, in text and in JSON; a RUNNING that does not validate is an error.
TEST_F(CliTest, ValidateAgainstARunningFilePrintsTheReloadPlan) {
  const std::string running_yaml = good_config();
  std::string next_yaml = running_yaml;
  next_yaml.replace(next_yaml.rfind("127.0.0.1:9"), 11, "127.0.0.1:7");
  const std::string running = dir_.write("running.yaml", running_yaml);
  const std::string next = dir_.write("next.yaml", next_yaml);
  ExitStatus st = run({"--validate", next, "--against", running});
  EXPECT_TRUE(st.success()) << st.to_string() << err_;
  EXPECT_NE(out_.find("reloading " + next + " over " + running + " would:\n"), std::string::npos)
      << out_;
  EXPECT_NE(out_.find("changed (endpoints: +127.0.0.1:7, -127.0.0.1:9)\n"), std::string::npos)
      << out_;

  st = run({"-t", next, "--against=" + running, "--format", "json"});
  EXPECT_TRUE(st.success()) << st.to_string() << err_;
  const boost::json::object o = boost::json::parse(out_).as_object();
  EXPECT_EQ(std::string(o.at("against").as_string()), running);
  ASSERT_EQ(o.at("plan").as_array().size(), 1u) << out_;
  EXPECT_NE(std::string(o.at("plan").at(0).as_string()).find("(endpoints: +127.0.0.1:7"),
            std::string::npos)
      << out_;

  const std::string bad = dir_.write("bad.yaml", kBadConfig);
  st = run({"-t", next, "--against", bad});
  EXPECT_EQ(st.code, 1) << st.to_string();
  EXPECT_NE(err_.find(bad + ":1:"), std::string::npos) << err_;
  st = run({"-t", next, "--against"});
  EXPECT_EQ(st.code, 2);
  EXPECT_NE(err_.find("option '--against' needs a value"), std::string::npos) << err_;
}

// ${VAR} and include: through the real binary. The environment is the child's only, set by
// env(1); an error in an included file names that file, in text and in JSON.
TEST_F(CliTest, ValidateWithEnvAndIncludeNamesTheIncludedFile) {
  const std::string port = std::to_string(free_loopback_port());
  const std::string main = dir_.write("main.yaml",
                                      "listeners:\n"
                                      "  - name: t\n"
                                      "    listen: 127.0.0.1:${LISTEN_PORT}\n"
                                      "    protocol: tcp\n"
                                      "    cluster: c\n"
                                      "include: conf.d/*.yaml\n");
  std::filesystem::create_directory(dir_.file("conf.d"));
  const std::string bad_cluster =
      "clusters:\n"
      "  - name: c\n"
      "    balancer: { type: round_robn }\n"
      "    endpoints: [{ address: \"127.0.0.1:${BACKEND_PORT:-9}\" }]\n";
  const std::string included = dir_.write("conf.d/c.yaml", bad_cluster);
  auto run_env = [&](const std::vector<std::string>& env, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/env", "-u", "LISTEN_PORT"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(sluice_binary());
    argv.insert(argv.end(), args.begin(), args.end());
    Process p = Process::spawn(argv, dir_.path(), "sluice-env-" + std::to_string(++runs_));
    ExitStatus st = p.wait(Millis(10000));
    out_ = p.stdout_text();
    err_ = p.stderr_text();
    return st;
  };
  const std::string typo = included +
                           ":3:23: clusters[0].balancer.type: expected one of round_robin, "
                           "weighted_round_robin, least_conn, consistent_hash, p2c, got "
                           "'round_robn' (did you mean 'round_robin'?)";

  ExitStatus st = run_env({"LISTEN_PORT=" + port}, {"--validate", main});
  EXPECT_EQ(st.code, 1) << st.to_string();
  EXPECT_EQ(err_, typo + "\n" + main + ": 1 error\n");

  st = run_env({"LISTEN_PORT=" + port}, {"--validate", main, "--format", "json"});
  EXPECT_EQ(st.code, 1) << st.to_string();
  const boost::json::value v = boost::json::parse(out_);
  EXPECT_EQ(std::string(v.at("file").as_string()), main);
  ASSERT_EQ(v.at("errors").as_array().size(), 1u) << out_;
  const boost::json::value& error = v.at("errors").as_array()[0];
  EXPECT_EQ(std::string(error.at("file").as_string()), included);
  EXPECT_EQ(error.at("line").as_int64(), 3);
  EXPECT_EQ(error.at("column").as_int64(), 23);

  // Unset, the variable is an error at its value in the main file, named.
  st = run_env({}, {"--validate", main});
  EXPECT_EQ(st.code, 1) << st.to_string();
  EXPECT_NE(err_.find(main + ":3:13: listeners[0].listen: environment variable 'LISTEN_PORT' is "
                             "not set"),
            std::string::npos)
      << err_;

  dir_.write("conf.d/c.yaml",
             "clusters:\n  - name: c\n"
             "    endpoints: [{ address: \"127.0.0.1:${BACKEND_PORT:-9}\" }]\n");
  st = run_env({"LISTEN_PORT=" + port}, {"--validate", main});
  EXPECT_TRUE(st.success()) << st.to_string() << err_;
  EXPECT_EQ(out_, main + ": ok\n");
}

TEST_F(CliTest, ConfigWithAnInvalidFileExitsNonZeroWithDiagnostics) {
  std::string path = dir_.write("bad.yaml", kBadConfig);
  ExitStatus st = run({"--config", path});
  EXPECT_TRUE(st.exited) << st.to_string();
  EXPECT_NE(st.code, 0);
  EXPECT_FALSE(diagnostic_lines(path).empty()) << out_ << err_;
}

TEST_F(CliTest, ConfigWithAMissingFileExitsNonZero) {
  ExitStatus st = run({"--config", dir_.file("does-not-exist.yaml")});
  EXPECT_TRUE(st.exited) << st.to_string();
  EXPECT_NE(st.code, 0);
  EXPECT_FALSE((out_ + err_).empty()) << "no word about what went wrong";
}

// A proxy that cannot bind its listener must say so and stop, not run deaf.
TEST_F(CliTest, ConfigWithATakenListenPortExitsNonZero) {
  uint16_t port = 0;
  Socket taken = reserve_refusing_port(&port);
  ASSERT_TRUE(taken.valid());
  TcpConfig c;
  c.listen_port = port;
  c.endpoints = {"127.0.0.1:9"};
  std::string path = dir_.write("taken.yaml", c.to_yaml());
  ExitStatus st = run({"--config", path}, Millis(5000));
  EXPECT_FALSE(st.killed_after_timeout) << "still running 5 s after failing to bind";
  EXPECT_TRUE(st.exited && st.code != 0) << st.to_string() << "\n" << out_ << err_;
}

}  // namespace
}  // namespace sluice::testing
