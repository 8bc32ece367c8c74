// A reload re-reads the files the config includes, with their patterns matched again: a changed
// included file takes effect, a new one with a mistake is refused with its own path, line and
// column, and the running config keeps serving. SIGHUP and POST /reload share this path.
#include <signal.h>

#include <filesystem>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

class ReloadIncludeTest : public ObsTest {
 protected:
  void SetUp() override {
    add_backend("a");
    add_backend("b");
    port_ = free_loopback_port();
    std::filesystem::create_directory(dir_.file("conf.d"));
  }

  std::string main_yaml() {
    return admin_yaml() +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    routes: [{ name: app, match: { path_prefix: /app }, cluster: app }]\n"
           "include: conf.d/*.yaml\n";
  }
  // conf.d/app.yaml: the cluster, on backend `index`.
  std::string write_cluster(size_t index) {
    return dir_.write("conf.d/app.yaml", "clusters:\n  - name: app\n    endpoints: [{ address: " +
                                             backends_[index].address() + " }]\n");
  }
  std::string fresh_body(const std::string& target) {
    HttpClient c = connect_http(port_);
    return roundtrip(c, request("GET", target)).body;
  }

  uint16_t port_ = 0;
};

TEST_F(ReloadIncludeTest, AReloadReReadsIncludedFiles) {
  write_cluster(0);
  ASSERT_TRUE(start_sluice(main_yaml()));
  EXPECT_EQ(fresh_body("/app"), "backend a\n");
  const std::string first_hash =
      json::value_to<std::string>(json::parse(admin("GET", "/config").body).at("source_hash"));

  write_cluster(1);
  AdminReply r = admin("POST", "/reload");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(fresh_body("/app"), "backend b\n");
  // The hash covers the included file: it changed although sluice.yaml did not.
  EXPECT_EQ(json::parse(admin("GET", "/config").body).at("source_hash").as_string(),
            sha256_hex(read_file(config_path_) + read_file(dir_.file("conf.d/app.yaml"))));
  EXPECT_NE(json::parse(admin("GET", "/config").body).at("source_hash").as_string(), first_hash);

  // A new file that a reload's fresh glob finds, with a mistake on its line 3.
  const std::string broken = dir_.write(
      "conf.d/zz-new.yaml", "clusters:\n  - name: more\n    endpoints: [{ address: nowhere }]\n");
  r = admin("POST", "/reload");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(broken + ":3:28: clusters[0].endpoints[0].address: "), std::string::npos)
      << r.body;
  EXPECT_EQ(fresh_body("/app"), "backend b\n");

  // SIGHUP reads the same files: fixed, the new file's cluster is there.
  dir_.write("conf.d/zz-new.yaml", "clusters:\n  - name: more\n    endpoints: [{ address: " +
                                       backends_[0].address() + " }]\n");
  ASSERT_EQ(::kill(sluice().pid(), SIGHUP), 0);
  EXPECT_EQ(wait_metric("sluice_config_reloads_total{result=\"success\"}", 2), 2);
  const json::value config = json::parse(admin("GET", "/config").body);
  EXPECT_EQ(config.at("clusters").as_array().size(), 2u) << config;
}

}  // namespace
}  // namespace sluice::testing
