// docker/Dockerfile: a Debian bookworm build stage that installs through
// scripts/install-deps.sh, a bookworm-slim runtime stage running as non-root, every COPY source
// present and not ignored, runtime packages that exist and cover what sluice links, and a
// HEALTHCHECK on /ready of the admin port docker/sluice.yaml listens on.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "docker_files.hpp"

namespace sluice::docker_testing {
namespace {

// Libraries every Debian image has (libc6, libstdc++6 and libgcc-s1 are required by apt).
const std::set<std::string> kBaseImagePackages = {"libc6", "libgcc-s1", "libstdc++6"};

class Dockerfile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = docker_dir() / "Dockerfile";
    ASSERT_TRUE(fs::is_regular_file(path_)) << path_ << " does not exist";
    stages_ = parse_dockerfile(read_text(path_));
    ASSERT_GE(stages_.size(), 2u) << "expected a build stage and a runtime stage";
  }
  const Stage& build() const { return stages_.front(); }
  const Stage& runtime() const { return stages_.back(); }
  std::vector<const Instruction*> all(const Stage& s, const std::string& kw) const {
    std::vector<const Instruction*> out;
    for (const auto& i : s.instructions)
      if (i.keyword == kw) out.push_back(&i);
    return out;
  }
  std::vector<std::string> runtime_packages() const {
    std::vector<std::string> out;
    for (const auto* run : all(runtime(), "RUN")) {
      for (auto& p : apt_installed_packages(run->args)) out.push_back(p);
    }
    return out;
  }

  fs::path path_;
  std::vector<Stage> stages_;
};

TEST_F(Dockerfile, BuildsOnBookwormAndRunsOnBookwormSlim) {
  EXPECT_EQ(build().base, "debian:bookworm");
  EXPECT_EQ(build().name, "build");
  EXPECT_EQ(runtime().base, "debian:bookworm-slim");
}

TEST_F(Dockerfile, BuildStageInstallsThroughInstallDepsAndBuildsRelease) {
  bool deps = false, release = false, no_bench = false;
  for (const auto* run : all(build(), "RUN")) {
    deps |= run->args.find("scripts/install-deps.sh") != std::string::npos;
    release |= run->args.find("-DCMAKE_BUILD_TYPE=Release") != std::string::npos;
    no_bench |= run->args.find("-DSLUICE_BENCH=OFF") != std::string::npos;
  }
  EXPECT_TRUE(deps) << "the build stage must run scripts/install-deps.sh (the one package list)";
  EXPECT_TRUE(release) << "the build stage must configure -DCMAKE_BUILD_TYPE=Release";
  EXPECT_TRUE(no_bench) << "the build stage must configure -DSLUICE_BENCH=OFF";
}

TEST_F(Dockerfile, CopySourcesExistAndAreNotIgnored) {
  // BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile before the context's own.
  fs::path ignore_file = docker_dir() / "Dockerfile.dockerignore";
  if (!fs::exists(ignore_file)) ignore_file = repo_root() / ".dockerignore";
  auto patterns = read_dockerignore(ignore_file);
  std::set<std::string> stage_names;
  int copies = 0;
  for (const auto& stage : stages_) {
    for (const auto& ins : stage.instructions) {
      if (ins.keyword != "COPY" && ins.keyword != "ADD") continue;
      auto copy = parse_copy(ins.args);
      EXPECT_FALSE(copy.sources.empty()) << "Dockerfile:" << ins.line << ": COPY without a source";
      std::string from;
      for (const auto& f : copy.flags)
        if (f.rfind("--from=", 0) == 0) from = f.substr(7);
      if (!from.empty()) {
        EXPECT_TRUE(stage_names.count(from))
            << "Dockerfile:" << ins.line << ": --from=" << from << " is not an earlier stage";
        continue;
      }
      for (const auto& src : copy.sources) {
        ++copies;
        EXPECT_TRUE(fs::exists(repo_root() / src)) << "Dockerfile:" << ins.line << ": COPY source "
                                                   << src << " does not exist in the repository";
        if (src != "." && src != "./") {
          EXPECT_FALSE(dockerignored(patterns, src))
              << "Dockerfile:" << ins.line << ": COPY source " << src << " is excluded by "
              << ignore_file;
        }
      }
    }
    if (!stage.name.empty()) stage_names.insert(stage.name);
  }
  EXPECT_GT(copies, 0);
  // `COPY . .` must still bring what the CMake configure step reads.
  for (const char* needed :
       {"CMakeLists.txt", "proxy/main.cpp", "config", "balancers", "limiter",
        "tests/CMakeLists.txt", "scripts/install-deps.sh", "packaging/CMakeLists.txt"}) {
    EXPECT_FALSE(dockerignored(patterns, needed)) << needed << " is excluded by " << ignore_file;
  }
  // ...and not the build trees or .git.
  for (const char* junk : {".git", "build", "build-asan/proxy/sluice"}) {
    EXPECT_TRUE(dockerignored(patterns, junk))
        << junk << " should be excluded from the build context";
  }
}

TEST_F(Dockerfile, RuntimeStageRunsSluiceAsNonRoot) {
  auto users = all(runtime(), "USER");
  ASSERT_FALSE(users.empty()) << "the runtime stage sets no USER (it would run as root)";
  std::string user = users.back()->args;
  EXPECT_NE(user, "root");
  EXPECT_NE(user.substr(0, user.find(':')), "0");

  auto json_array = [&](const char* kw) -> std::vector<std::string> {
    auto ins = all(runtime(), kw);
    if (ins.empty()) return {};
    boost::system::error_code ec;
    auto v = boost::json::parse(ins.back()->args, ec);
    if (ec || !v.is_array()) {
      ADD_FAILURE() << kw << " must be in exec (JSON array) form: " << ins.back()->args;
      return {};
    }
    std::vector<std::string> out;
    for (const auto& e : v.as_array()) out.emplace_back(e.as_string().c_str());
    return out;
  };
  EXPECT_EQ(json_array("ENTRYPOINT"), (std::vector<std::string>{"sluice"}));
  EXPECT_EQ(json_array("CMD"), (std::vector<std::string>{"--config", "/etc/sluice/sluice.yaml"}));
}

TEST_F(Dockerfile, HealthcheckProbesReadyOnTheAdminPortOfTheConfig) {
  // The static half; live_sluice_test.cpp runs the probe against a real sluice.
  auto checks = all(runtime(), "HEALTHCHECK");
  ASSERT_EQ(checks.size(), 1u) << "the runtime stage needs exactly one HEALTHCHECK";
  Healthcheck hc = parse_healthcheck(checks.front()->args);
  ASSERT_FALSE(hc.none) << "HEALTHCHECK NONE: sluice serves /ready on its admin listener";
  ASSERT_FALSE(hc.exec.empty())
      << "use the exec form: the shell form runs /bin/sh (dash), which has no /dev/tcp";
  EXPECT_TRUE(hc.options.count("timeout")) << "give the probe a --timeout (Docker's is 30s)";

  // The probe's program must be in the image: bash is Essential in Debian (in the slim
  // base); anything else (curl, wget) must be installed by the runtime stage.
  const std::string program = fs::path(hc.exec.front()).filename().string();
  if (program != "bash") {
    auto packages = runtime_packages();
    EXPECT_TRUE(std::find(packages.begin(), packages.end(), program) != packages.end())
        << "the HEALTHCHECK runs " << program << ", which the runtime stage does not install";
  }

  auto config = load_yaml(docker_dir() / "sluice.yaml");
  ASSERT_TRUE(config.has_value());
  ASSERT_TRUE((*config)["admin"]["listen"])
      << "docker/sluice.yaml has no admin.listen: the HEALTHCHECK would have nothing to probe";
  const std::string listen = (*config)["admin"]["listen"].as<std::string>();
  const std::string host = host_of(listen), port = port_of(listen);
  EXPECT_TRUE(host == "0.0.0.0" || host == "127.0.0.1")
      << "admin.listen " << listen << " is not reachable on 127.0.0.1 inside the container";

  std::string command;
  for (const auto& a : hc.exec) command += a + " ";
  EXPECT_NE(command.find("/ready"), std::string::npos)
      << "the HEALTHCHECK should ask /ready (503 while draining), not /live: " << command;
  bool names_port = false;
  for (const char* prefix : {"127.0.0.1:", "127.0.0.1/", "localhost:", "localhost/"})
    names_port |= command.find(prefix + port) != std::string::npos;
  EXPECT_TRUE(names_port) << "the HEALTHCHECK does not probe 127.0.0.1:" << port
                          << " (admin.listen " << listen << "): " << command;

  bool exposed = false;
  for (const auto* e : all(runtime(), "EXPOSE"))
    for (const auto& p : split_words(e->args)) exposed |= p.substr(0, p.find('/')) == port;
  EXPECT_TRUE(exposed) << "the Dockerfile does not EXPOSE the admin port " << port;
}

TEST_F(Dockerfile, RuntimePackagesExistInDebian) {
  auto packages = runtime_packages();
  ASSERT_FALSE(packages.empty()) << "the runtime stage installs no packages";
  std::regex debian_name("[a-z0-9][a-z0-9+.-]+");
  for (const auto& p : packages)
    EXPECT_TRUE(std::regex_match(p, debian_name)) << "not a package name: " << p;

  bool have_lists = false;
  if (fs::is_directory("/var/lib/apt/lists")) {
    for (const auto& e : fs::directory_iterator("/var/lib/apt/lists"))
      have_lists |= e.path().filename().string().find("_Packages") != std::string::npos;
  }
  if (!have_lists || !have_program("apt-cache")) {
    GTEST_SKIP()
        << "no apt package lists on this machine (run `apt-get update`): cannot check that "
           "the runtime packages exist in Debian";
  }
  for (const auto& p : packages) {
    auto r = run_command({"apt-cache", "show", "--no-all-versions", p});
    EXPECT_EQ(r.exit_code, 0) << "apt-cache show " << p << " failed: no such Debian package?\n"
                              << r.output;
  }
}

TEST_F(Dockerfile, RuntimePackagesCoverWhatSluiceLinks) {
  if (!have_program("ldd") || !have_program("dpkg")) GTEST_SKIP() << "ldd or dpkg missing";
  auto ldd = run_command({"ldd", SLUICE_BINARY_PATH});
  ASSERT_EQ(ldd.exit_code, 0) << ldd.output;
  auto listed = runtime_packages();
  std::set<std::string> have(listed.begin(), listed.end());
  have.insert(kBaseImagePackages.begin(), kBaseImagePackages.end());

  std::regex line(R"(^\s*(\S+) => (/\S+) \(0x)");
  std::istringstream in(ldd.output);
  std::string l;
  int libs = 0;
  while (std::getline(in, l)) {
    std::smatch m;
    if (!std::regex_search(l, m, line)) continue;
    ++libs;
    const std::string soname = m[1], lib = m[2];
    // Sanitizer builds link their runtimes; the image is never built that way.
    if (soname.rfind("libasan", 0) == 0 || soname.rfind("libubsan", 0) == 0 ||
        soname.rfind("liblsan", 0) == 0 || soname.rfind("libtsan", 0) == 0)
      continue;
    std::string owner;
    std::vector<std::string> candidates = {fs::weakly_canonical(lib).string(), lib};
    if (lib.rfind("/usr/lib/", 0) == 0)
      candidates.push_back(lib.substr(4));  // merged /usr
    else if (lib.rfind("/lib/", 0) == 0)
      candidates.push_back("/usr" + lib);
    for (const auto& c : candidates) {
      auto r = run_command({"dpkg", "-S", c});
      if (r.exit_code == 0) {
        owner = r.output.substr(0, r.output.find_first_of(":,"));
        break;
      }
    }
    EXPECT_FALSE(owner.empty()) << "sluice links " << lib << ", which no Debian package owns";
    if (owner.empty()) continue;
    EXPECT_TRUE(have.count(owner))
        << "sluice links " << soname << " from package " << owner
        << ", which the runtime stage of docker/Dockerfile does not install";
  }
  EXPECT_GT(libs, 0) << "ldd listed no libraries:\n" << ldd.output;
}

}  // namespace
}  // namespace sluice::docker_testing
