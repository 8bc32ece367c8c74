// The file discovery source on a real ControlLoop against real files: every way people and
// tools change a file (atomic rename, in-place write, Kubernetes' `..data` symlink swap) is
// seen within a fraction of a second through inotify; a truncated or invalid file is an error
// (after one re-read) and never a smaller set; the poll catches what inotify does not report.
#include "proxy/control/discovery/file_source.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "proxy/control/loop/control_loop.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::proxy::discovery {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct RecordingSink : SourceSink {
  std::vector<std::vector<DiscoveredEndpoint>> sets;
  std::vector<std::string> failures;
  void deliver(std::vector<DiscoveredEndpoint> set, std::string) override {
    sets.push_back(std::move(set));
  }
  void fail(std::string why) override { failures.push_back(std::move(why)); }
};

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Writes elsewhere and renames over `path`, as editors and config management do.
void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  write(tmp, text);
  fs::rename(tmp, path);
}

std::vector<std::string> addresses(const std::vector<DiscoveredEndpoint>& set) {
  std::vector<std::string> out;
  for (const auto& e : set) out.push_back(e.address);
  return out;
}

class FileSourceTest : public ::testing::Test {
 protected:
  FileSourceTest() : dir_("filesource") {}

  // Runs the loop until `done` or `timeout`; true when done.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 2s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      loop_.run_once(10ms);
    }
    return true;
  }
  config::FileDiscovery settings(const fs::path& path, std::chrono::milliseconds poll = 60s) {
    config::FileDiscovery f;
    f.path = path.string();
    f.poll_interval = poll;
    return f;
  }

  testing::TempDir dir_;
  control::ControlLoop loop_;
  RecordingSink sink_;
};

TEST_F(FileSourceTest, TheFirstSetIsThereWhenStartReturns) {
  const fs::path file = fs::path(dir_.path()) / "eps.yaml";
  write(file, "- 127.0.0.1:8001\n- 127.0.0.1:8002\n");
  FileSource source(loop_, sink_, settings(file));
  source.start();
  ASSERT_EQ(sink_.sets.size(), 1u);
  EXPECT_EQ(addresses(sink_.sets[0]),
            (std::vector<std::string>{"127.0.0.1:8001", "127.0.0.1:8002"}));
  EXPECT_TRUE(sink_.failures.empty());
}

TEST_F(FileSourceTest, AnAtomicRenameIsSeenAtOnce) {
  const fs::path file = fs::path(dir_.path()) / "eps.yaml";
  write(file, "- 127.0.0.1:8001\n");
  FileSource source(loop_, sink_, settings(file));
  source.start();
  const auto begin = std::chrono::steady_clock::now();
  write_atomically(file, "- 127.0.0.1:8001\n- 127.0.0.1:8003\n");
  ASSERT_TRUE(run_until([&] { return sink_.sets.size() == 2; }));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 500ms);
  EXPECT_EQ(addresses(sink_.sets[1]),
            (std::vector<std::string>{"127.0.0.1:8001", "127.0.0.1:8003"}));
}

TEST_F(FileSourceTest, AnInPlaceWriteIsSeen) {
  const fs::path file = fs::path(dir_.path()) / "eps.yaml";
  write(file, "- 127.0.0.1:8001\n");
  FileSource source(loop_, sink_, settings(file));
  source.start();
  write(file, "- 127.0.0.1:8005\n");
  ASSERT_TRUE(run_until([&] { return sink_.sets.size() == 2; }));
  EXPECT_EQ(addresses(sink_.sets[1]), (std::vector<std::string>{"127.0.0.1:8005"}));
  // Touching it without a change delivers nothing new.
  write(file, "- 127.0.0.1:8005\n");
  run_until([] { return false; }, 300ms);
  EXPECT_EQ(sink_.sets.size(), 2u);
}

TEST_F(FileSourceTest, AKubernetesStyleSymlinkSwapIsSeen) {
  // What the kubelet does for a mounted ConfigMap: eps.yaml -> ..data/eps.yaml, and ..data is
  // a symlink to a timestamped directory that is swapped by renaming a new symlink over it.
  const fs::path root(dir_.path());
  fs::create_directory(root / "..v1");
  write(root / "..v1" / "eps.yaml", "- 127.0.0.1:8001\n");
  fs::create_directory_symlink("..v1", root / "..data");
  fs::create_symlink("..data/eps.yaml", root / "eps.yaml");
  FileSource source(loop_, sink_, settings(root / "eps.yaml"));
  source.start();
  ASSERT_EQ(sink_.sets.size(), 1u);

  fs::create_directory(root / "..v2");
  write(root / "..v2" / "eps.yaml", "- 127.0.0.1:8002\n");
  fs::create_directory_symlink("..v2", root / "..data_tmp");
  fs::rename(root / "..data_tmp", root / "..data");
  ASSERT_TRUE(run_until([&] { return sink_.sets.size() == 2; }));
  EXPECT_EQ(addresses(sink_.sets[1]), (std::vector<std::string>{"127.0.0.1:8002"}));
}

TEST_F(FileSourceTest, ATruncatedFileIsAnErrorNeverASmallerSet) {
  const fs::path file = fs::path(dir_.path()) / "eps.yaml";
  write(file, "- 127.0.0.1:8001\n");
  FileSource source(loop_, sink_, settings(file));
  source.start();
  write(file, "");
  ASSERT_TRUE(run_until([&] { return !sink_.failures.empty(); }));
  EXPECT_EQ(sink_.sets.size(), 1u);
  EXPECT_NE(sink_.failures[0].find("empty"), std::string::npos) << sink_.failures[0];
  // Fixed: the set comes back (equal content after a failure is delivered again).
  write(file, "- 127.0.0.1:8001\n");
  ASSERT_TRUE(run_until([&] { return sink_.sets.size() == 2; }));
}

TEST_F(FileSourceTest, AHalfWrittenFileThatIsFinishedSoonIsNotAnError) {
  const fs::path file = fs::path(dir_.path()) / "eps.yaml";
  write(file, "- 127.0.0.1:8001\n");
  FileSource source(loop_, sink_, settings(file));
  source.start();
  write(file, "- { address: 127.0.0.1:8002");  // the writer is not done yet
  run_until([] { return false; }, 50ms);
  write(file, "- { address: 127.0.0.1:8002 }\n");
  ASSERT_TRUE(run_until([&] { return sink_.sets.size() == 2; }));
  EXPECT_TRUE(sink_.failures.empty()) << sink_.failures[0];
}

TEST_F(FileSourceTest, AMissingFileIsAnErrorAndItsCreationIsSeen) {
  const fs::path file = fs::path(dir_.path()) / "later.yaml";
  FileSource source(loop_, sink_, settings(file));
  source.start();
  ASSERT_EQ(sink_.failures.size(), 1u);
  EXPECT_NE(sink_.failures[0].find("No such file"), std::string::npos) << sink_.failures[0];
  write_atomically(file, "[]\n");
  ASSERT_TRUE(run_until([&] { return sink_.sets.size() == 1; }));
  EXPECT_TRUE(sink_.sets[0].empty());
}

TEST_F(FileSourceTest, AChangeSeenByTheWatchAndThePollIsDeliveredOnce) {
  const fs::path file = fs::path(dir_.path()) / "eps.yaml";
  write(file, "- 127.0.0.1:8001\n");
  FileSource source(loop_, sink_, settings(file, 100ms));
  source.start();
  ASSERT_EQ(sink_.sets.size(), 1u);
  write(file, "- 127.0.0.1:8009\n");
  run_until([] { return false; }, 400ms);  // several polls after the watch's read
  EXPECT_EQ(sink_.sets.size(), 2u);
}

}  // namespace
}  // namespace sluice::proxy::discovery
