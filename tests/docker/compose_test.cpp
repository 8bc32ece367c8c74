// docker/compose.yaml: parses, has the services of the edge deployment, everything it mounts
// or builds from exists, sluice may use io_uring, and the static addressing is consistent.
#include <gtest/gtest.h>

#include <set>

#include "compose_model.hpp"

namespace sluice::docker_testing {
namespace {

class Compose : public ::testing::Test {
 protected:
  void SetUp() override {
    auto doc = load_yaml(compose_path());
    ASSERT_TRUE(doc.has_value());
    compose_ = *doc;
    ASSERT_TRUE(compose_.IsMap()) << "compose.yaml is not a map";
    ASSERT_TRUE(compose_["services"] && compose_["services"].IsMap()) << "no services map";
  }
  YAML::Node service(const std::string& name) const { return compose_["services"][name]; }

  YAML::Node compose_;
};

TEST_F(Compose, HasTheServicesOfTheEdgeDeployment) {
  for (const char* name :
       {"sluice", "backend1", "backend2", "redis", "etcd", "prometheus", "grafana"}) {
    EXPECT_TRUE(service(name).IsDefined()) << "compose.yaml has no service `" << name << "`";
  }
}

TEST_F(Compose, EveryServiceHasAnImageOrABuild) {
  for (const auto& s : compose_["services"]) {
    EXPECT_TRUE(s.second["image"] || s.second["build"])
        << "service `" << s.first.as<std::string>() << "` has neither image nor build";
  }
}

TEST_F(Compose, SluiceIsBuiltFromDockerfileInTheRepository) {
  const YAML::Node build = service("sluice")["build"];
  ASSERT_TRUE(build && build.IsMap())
      << "service sluice must be `build:` with context and dockerfile";
  ASSERT_TRUE(build["context"]) << "sluice build has no context";
  fs::path context = (docker_dir() / build["context"].as<std::string>()).lexically_normal();
  EXPECT_TRUE(fs::exists(context / "CMakeLists.txt"))
      << "build context " << context << " is not the repository root";
  std::string dockerfile =
      build["dockerfile"] ? build["dockerfile"].as<std::string>() : "Dockerfile";
  EXPECT_TRUE(fs::is_regular_file(context / dockerfile))
      << "dockerfile " << dockerfile << " not found in context " << context;
}

TEST_F(Compose, EveryBindMountSourceExists) {
  int binds = 0;
  for (const auto& s : compose_["services"]) {
    for (const auto& m : mounts_of(s.second)) {
      if (!m.bind) continue;
      ++binds;
      EXPECT_TRUE(fs::exists(host_path(m)))
          << "service `" << s.first.as<std::string>() << "` mounts " << m.source << " ("
          << host_path(m) << "), which does not exist";
    }
  }
  EXPECT_GT(binds, 0) << "expected bind mounts (configs) in compose.yaml";
}

TEST_F(Compose, EveryNamedVolumeIsDeclared) {
  for (const auto& s : compose_["services"]) {
    for (const auto& m : mounts_of(s.second)) {
      if (m.bind || m.source.empty()) continue;
      EXPECT_TRUE(compose_["volumes"] && compose_["volumes"][m.source].IsDefined())
          << "service `" << s.first.as<std::string>() << "` uses volume `" << m.source
          << "`, which is not declared under top-level volumes";
    }
  }
}

TEST_F(Compose, SluiceMountsTheConfigItsCommandNames) {
  const YAML::Node sluice = service("sluice");
  ASSERT_TRUE(sluice["command"] && sluice["command"].IsSequence())
      << "sluice needs an exec-form command";
  auto cmd = sluice["command"].as<std::vector<std::string>>();
  ASSERT_EQ(cmd.size(), 2u);
  EXPECT_EQ(cmd[0], "--config");
  auto host = host_path_of(sluice, cmd[1]);
  ASSERT_TRUE(host.has_value()) << "nothing is mounted at " << cmd[1];
  EXPECT_EQ(fs::weakly_canonical(*host), fs::weakly_canonical(docker_dir() / "sluice.yaml"))
      << cmd[1] << " must be docker/sluice.yaml";
}

TEST_F(Compose, SluiceMayUseIoUring) {
  // Docker >= 25 blocks io_uring_* in its default seccomp profile.
  const YAML::Node opts = service("sluice")["security_opt"];
  bool ok = false;
  if (opts && opts.IsSequence()) {
    for (const auto& o : opts) {
      std::string s = o.as<std::string>();
      for (char& c : s) c = c == ':' ? '=' : c;  // seccomp:x is the old spelling
      if (s == "seccomp=unconfined") ok = true;
      if (s.rfind("seccomp=", 0) == 0 && s != "seccomp=unconfined") {
        ok =
            fs::exists(docker_dir() / s.substr(8));  // a custom profile shipped beside compose.yaml
        EXPECT_TRUE(ok) << "seccomp profile " << s.substr(8) << " not found";
      }
    }
  }
  EXPECT_TRUE(ok)
      << "service sluice needs security_opt seccomp=unconfined or a profile allowing io_uring";
}

TEST_F(Compose, StaticAddressesAreUniqueAndInsideTheSubnet) {
  std::set<std::string> seen;
  for (const auto& s : compose_["services"]) {
    const std::string name = s.first.as<std::string>();
    const YAML::Node networks = s.second["networks"];
    ASSERT_TRUE(networks && networks.IsMap()) << "service `" << name << "` is on no named network";
    for (const auto& n : networks) {
      const std::string net = n.first.as<std::string>();
      const YAML::Node decl = compose_["networks"][net];
      ASSERT_TRUE(decl.IsDefined()) << "service `" << name << "` uses undeclared network " << net;
      if (!n.second.IsMap() || !n.second["ipv4_address"]) continue;
      const std::string ip = n.second["ipv4_address"].as<std::string>();
      EXPECT_TRUE(seen.insert(ip).second) << ip << " is used twice";
      auto addr = parse_ipv4(ip);
      ASSERT_TRUE(addr.has_value()) << name << ": ipv4_address " << ip << " is not an IPv4 address";
      bool inside = false;
      for (const auto& c : decl["ipam"]["config"]) {
        std::string subnet = c["subnet"].as<std::string>();
        auto base = parse_ipv4(subnet.substr(0, subnet.find('/')));
        int bits = std::stoi(subnet.substr(subnet.find('/') + 1));
        uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
        uint32_t host = *addr & ~mask;
        if (base && (*addr & mask) == (*base & mask) && host != 0 && host != 1 && host != ~mask)
          inside = true;  // not the network, the gateway (.1) or the broadcast address
      }
      EXPECT_TRUE(inside) << name << ": " << ip << " is not a usable address of network " << net
                          << "'s ipam subnet";
    }
  }
  EXPECT_FALSE(seen.empty()) << "no static addresses: sluice needs IPs, it resolves no names";
}

TEST_F(Compose, DependenciesAreServices) {
  for (const auto& s : compose_["services"]) {
    const YAML::Node deps = s.second["depends_on"];
    if (!deps) continue;
    for (const auto& d : deps) {
      std::string dep = deps.IsMap() ? d.first.as<std::string>() : d.as<std::string>();
      EXPECT_TRUE(service(dep).IsDefined())
          << "service `" << s.first.as<std::string>() << "` depends on unknown `" << dep << "`";
    }
  }
}

}  // namespace
}  // namespace sluice::docker_testing
