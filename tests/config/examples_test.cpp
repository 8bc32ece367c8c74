// Every shipped example validates clean; every future example fails only because its features
// are not implemented yet. Golden files in data/ pin whole-file diagnostics.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/parse.hpp"

namespace sluice::config {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> yaml_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".yaml")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Examples, ValidateClean) {
  auto files = yaml_files(SLUICE_CONFIG_EXAMPLES_DIR);
  EXPECT_GE(files.size(), 5u);
  for (const auto& file : files) {
    auto result = parse_config_file(file.string());
    for (const auto& error : result.errors) ADD_FAILURE() << error.to_string();
  }
}

TEST(Examples, FutureOnesFailOnlyForNotSupportedYet) {
  const fs::path future = fs::path(SLUICE_CONFIG_EXAMPLES_DIR) / "future";
  // Empty while every key the parser knows is implemented (config/support.cpp).
  if (!fs::exists(future)) GTEST_SKIP() << "no examples/future/: every key is supported";
  auto files = yaml_files(future);
  for (const auto& file : files) {
    auto result = parse_config_file(file.string());
    EXPECT_FALSE(result.ok()) << file << " validates: move it out of future/";
    for (const auto& error : result.errors)
      EXPECT_TRUE(error.message.ends_with(" is not supported yet")) << error.to_string();
  }
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// data/NAME.yaml with data/NAME.expected: the exact diagnostics, one per line, with the file
// named NAME.yaml. Without a .expected file the config must be valid.
TEST(Golden, DataFiles) {
  auto files = yaml_files(SLUICE_CONFIG_TEST_DATA_DIR);
  EXPECT_GE(files.size(), 2u);
  for (const auto& file : files) {
    auto result = parse_config_text(slurp(file), file.filename().string());
    std::string actual;
    for (const auto& error : result.errors) actual += error.to_string() + "\n";
    fs::path expected = file;
    expected.replace_extension(".expected");
    EXPECT_EQ(actual, fs::exists(expected) ? slurp(expected) : "") << file;
  }
}

}  // namespace
}  // namespace sluice::config
