// include: real files in a temporary directory, read by the real parser. Paths in the expected
// diagnostics are built from that directory, so each one names the file it must.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "config/parse.hpp"

namespace sluice::config {
namespace {

namespace fs = std::filesystem;

class IncludeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "sluice-include-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Writes `text` to dir/name (making its directories) and returns the path.
  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = fs::path(dir_) / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  ParseResult parse(const std::string& name = "main.yaml") {
    ParseOptions options;
    options.env = [](const std::string& var) -> std::optional<std::string> {
      if (var == "CONF_DIR") return "conf.d";
      return std::nullopt;
    };
    return parse_config_file(path(name), options);
  }
  static std::vector<std::string> errors(const ParseResult& result) {
    std::vector<std::string> out;
    for (const auto& d : result.errors) out.push_back(d.to_string());
    return out;
  }
  static std::vector<std::string> cluster_names(const ParseResult& result) {
    std::vector<std::string> out;
    for (const auto& c : result.config.clusters) out.push_back(c.name);
    return out;
  }

  std::string dir_;
};

const std::string kListener = R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: a
)";

std::string cluster(const std::string& name) {
  return "clusters:\n  - name: " + name + "\n    endpoints: [{ address: 127.0.0.1:9001 }]\n";
}

TEST_F(IncludeTest, GlobMatchesAreReadInNameOrderAfterTheIncludingFile) {
  write("main.yaml", kListener + "include: conf.d/*.yaml\n" + cluster("main"));
  write("conf.d/b.yaml", cluster("b"));
  write("conf.d/a.yaml", cluster("a"));
  write("conf.d/10-first.yaml", cluster("ten"));
  write("conf.d/notes.txt", "not yaml: [");
  write("conf.d/.hidden.yaml", "not yaml: [");
  auto result = parse();
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(cluster_names(result), (std::vector<std::string>{"main", "ten", "a", "b"}));
}

TEST_F(IncludeTest, AListOfPatternsIsReadInTurn) {
  write("main.yaml", kListener + "include: [conf.d/z.yaml, \"${CONF_DIR}/x*.yaml\"]\n");
  write("conf.d/z.yaml", cluster("a"));
  write("conf.d/x1.yaml", cluster("x1"));
  auto result = parse();
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(cluster_names(result), (std::vector<std::string>{"a", "x1"}));
}

TEST_F(IncludeTest, PatternsAreRelativeToTheIncludingFile) {
  // main.yaml in etc/, a nested include in etc/conf.d/; cwd is neither.
  write("etc/main.yaml", "include: conf.d/listener.yaml\n");
  write("etc/conf.d/listener.yaml", kListener + "include: [more/*.yaml]\n");
  write("etc/conf.d/more/cluster.yaml", cluster("a"));
  write("conf.d/listener.yaml", "this: must not be read\n");
  auto result = parse("etc/main.yaml");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(result.config.listeners.size(), 1u);
  EXPECT_EQ(cluster_names(result), (std::vector<std::string>{"a"}));
}

TEST_F(IncludeTest, AnAbsolutePatternIsUsedAsItIs) {
  write("elsewhere/c.yaml", cluster("a"));
  write("main.yaml", kListener + "include: " + path("elsewhere/c.yaml") + "\n");
  auto result = parse();
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(cluster_names(result), (std::vector<std::string>{"a"}));
}

TEST_F(IncludeTest, AMissingFileIsAnErrorAnEmptyGlobIsNot) {
  write("main.yaml", kListener + cluster("a") + "include:\n  - conf.d/*.yaml\n  - gone/*.yaml\n" +
                         "  - conf.d/missing.yaml\n");
  EXPECT_EQ(errors(parse()),
            (std::vector<std::string>{path("main.yaml") +
                                      ":12:5: include[2]: " + path("conf.d/missing.yaml") +
                                      ": cannot read the file: No such file or directory"}));
}

TEST_F(IncludeTest, ErrorsInAnIncludedFileNameThatFile) {
  write("main.yaml", "include: conf.d/*.yaml\nworkers: 2\n");
  write("conf.d/a.yaml", kListener + cluster("a"));
  write("conf.d/b.yaml", "clusters:\n  - name: b\n    endpoints: [{ address: 127.0.0.1:x }]\n" +
                             std::string("    balancr: { type: p2c }\n"));
  EXPECT_EQ(errors(parse()),
            (std::vector<std::string>{
                path("conf.d/b.yaml") + ":3:28: clusters[0].endpoints[0].address: port 'x' is not "
                                        "a number",
                path("conf.d/b.yaml") + ":4:5: clusters[0].balancr: unknown key (did you mean "
                                        "'balancer'?)"}));
}

TEST_F(IncludeTest, ErrorsAreInFileOrderMainFileFirst) {
  write("main.yaml", "include: conf.d/a.yaml\nworkers: many\n" + kListener + cluster("a"));
  write("conf.d/a.yaml", "drain_timeout: never\n");
  EXPECT_EQ(
      errors(parse()),
      (std::vector<std::string>{
          path("main.yaml") + ":2:10: workers: expected auto or a number of workers between 1 and "
                              "1024, got 'many'",
          path("conf.d/a.yaml") + ":1:16: drain_timeout: expected a duration like 250ms, 2s, 1m "
                                  "or 1h, got 'never'"}));
}

TEST_F(IncludeTest, DuplicateNamesAcrossFilesPointAtBoth) {
  write("main.yaml", kListener + cluster("a") + "include: conf.d/*.yaml\n");
  write("conf.d/a.yaml", cluster("a"));
  EXPECT_EQ(errors(parse()),
            (std::vector<std::string>{path("conf.d/a.yaml") +
                                      ":2:11: clusters[0].name: duplicate cluster name 'a' "
                                      "(first at " +
                                      path("main.yaml") + ":7:11)"}));
}

TEST_F(IncludeTest, AOneValueSectionMayBeSetInOneFileOnly) {
  write("main.yaml", "workers: 2\n" + kListener + cluster("a") + "include: conf.d/*.yaml\n");
  write("conf.d/a.yaml", "workers: 4\nlog: { level: debug }\n");
  write("conf.d/b.yaml", "log: { level: warn }\n");
  EXPECT_EQ(errors(parse()),
            (std::vector<std::string>{
                path("conf.d/a.yaml") + ":1:1: workers: already set at " + path("main.yaml") +
                    ":1:1 (only listeners, clusters and rate_limits add up across included "
                    "files)",
                path("conf.d/b.yaml") + ":1:1: log: already set at " + path("conf.d/a.yaml") +
                    ":2:1 (only listeners, clusters and rate_limits add up across included "
                    "files)"}));
}

TEST_F(IncludeTest, ListenersMayAllComeFromIncludedFiles) {
  write("main.yaml", "include: conf.d/*.yaml\n");
  write("conf.d/a.yaml", kListener + cluster("a"));
  write("conf.d/empty.yaml", "");
  write("conf.d/comment.yaml", "# nothing here yet\n");
  auto result = parse();
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));

  write("conf.d/a.yaml", cluster("a"));
  EXPECT_EQ(errors(parse()), (std::vector<std::string>{path("main.yaml") +
                                                       ":1:1: missing required key 'listeners'"}));
}

TEST_F(IncludeTest, ACycleIsAnError) {
  write("main.yaml", kListener + cluster("a") + "include: a.yaml\n");
  write("a.yaml", "include: b.yaml\n");
  write("b.yaml", "include: [a.yaml]\n");
  EXPECT_EQ(errors(parse()),
            (std::vector<std::string>{
                path("b.yaml") + ":1:11: include[0]: include cycle: " + path("main.yaml") + " -> " +
                path("a.yaml") + " -> " + path("b.yaml") + " -> " + path("a.yaml")}));
  write("a.yaml", "include: main.yaml\n");
  EXPECT_EQ(errors(parse()),
            (std::vector<std::string>{path("a.yaml") +
                                      ":1:10: include: include cycle: " + path("main.yaml") +
                                      " -> " + path("a.yaml") + " -> " + path("main.yaml")}));
}

TEST_F(IncludeTest, AFileIsIncludedOnce) {
  write("main.yaml", kListener + cluster("a") + "include: [conf.d/*.yaml, conf.d/x.yaml]\n");
  write("conf.d/x.yaml", cluster("x"));
  EXPECT_EQ(errors(parse()),
            (std::vector<std::string>{
                path("main.yaml") + ":9:26: include[1]: " + path("conf.d/x.yaml") +
                " is already included (at line " + "9:11); a file can be included once"}));
}

TEST_F(IncludeTest, NestingDeeperThanEightLevelsIsAnError) {
  write("main.yaml", kListener + cluster("a") + "include: l1.yaml\n");
  for (int level = 1; level <= 9; ++level)
    write("l" + std::to_string(level) + ".yaml",
          "include: l" + std::to_string(level + 1) + ".yaml\n");
  write("l10.yaml", "");
  std::string chain = path("main.yaml");
  for (int level = 1; level <= 8; ++level)
    chain += " -> " + path("l" + std::to_string(level) + ".yaml");
  EXPECT_EQ(errors(parse()),
            (std::vector<std::string>{
                path("l8.yaml") + ":1:1: include: includes nest more than 8 levels deep: " + chain +
                " -> ..."}));
  write("l8.yaml", "");  // eight levels are fine
  EXPECT_TRUE(parse().ok()) << ::testing::PrintToString(errors(parse()));
}

TEST_F(IncludeTest, TextWithoutADirectoryReadsNoFile) {
  write("conf.d/a.yaml", "this: would be an error\n");
  const std::string text = kListener + cluster("a") + "include: conf.d/a.yaml\n";
  auto refused = parse_config_text(text, "t.yaml");
  EXPECT_EQ(errors(refused), (std::vector<std::string>{
                                 "t.yaml:9:1: include: only a config read from a file can include "
                                 "others (this text has no directory to look in)"}));
  ParseOptions options;
  options.include_dir = dir_;
  EXPECT_EQ(errors(parse_config_text(text, "t.yaml", options)),
            (std::vector<std::string>{path("conf.d/a.yaml") +
                                      ":1:1: this: unknown key (expected "
                                      "one of workers, drain_timeout, max_connections, buffers, "
                                      "admin, log, listeners, clusters, rate_limits, redis, "
                                      "include)"}));
}

TEST_F(IncludeTest, AWarningNamesItsFile) {
  write("main.yaml", kListener + cluster("a") + "include: admin.yaml\n");
  write("admin.yaml", "admin: { listen: 0.0.0.0:9901 }\n");
  auto result = parse();
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  ASSERT_EQ(result.config.warnings.size(), 1u);
  EXPECT_EQ(result.config.warnings[0].file, path("admin.yaml"));
  EXPECT_EQ(result.config.warnings[0].line, 1);
}

TEST_F(IncludeTest, TheSourceHashCoversIncludedFiles) {
  write("main.yaml", kListener + "include: c.yaml\n");
  write("c.yaml", cluster("a"));
  const std::string before = parse().config.source_hash;
  write("c.yaml", cluster("a") + "# changed\n");
  const std::string after = parse().config.source_hash;
  EXPECT_EQ(before.size(), 64u);
  EXPECT_NE(before, after);
}

}  // namespace
}  // namespace sluice::config
