// A per-test scratch directory for configs, logs and stats files. Test thread only.
#pragma once

#include <string>
#include <string_view>

namespace sluice::testing {

class TempDir {
 public:
  // Creates $TMPDIR/sluice-<prefix>-XXXXXX. Throws std::runtime_error on failure.
  explicit TempDir(std::string_view prefix = "test");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Removes the directory unless keep() was called or SLUICE_KEEP_TEMP=1 is set,
  // so the logs of a failed run can be read afterwards.
  ~TempDir();

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }
  // Writes `content` to `<dir>/<name>` and returns the full path.
  std::string write(std::string_view name, std::string_view content) const;
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

std::string read_file(const std::string& path);  // "" when missing

}  // namespace sluice::testing
