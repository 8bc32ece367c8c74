// docker/prometheus and docker/grafana: Prometheus scrapes compose services (sluice on its
// admin port), Grafana's provisioning points at the mounted datasource and dashboards, and the
// dashboard is valid JSON with the panels issue #6 asks for. Whether sluice really exports
// every metric and label the dashboard queries is checked against a running sluice in
// live_sluice_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>
#include <regex>
#include <set>

#include "compose_model.hpp"

namespace sluice::docker_testing {
namespace {

namespace json = boost::json;

// Each panel the dashboard must have (lower-case substring of its title) and its metric.
const std::map<std::string, std::string> kPanels = {
    {"request rate", "sluice_http_requests_total"},
    {"error rate", "sluice_http_requests_total"},
    {"latency", "sluice_upstream_request_duration_seconds_bucket"},
    {"limiter", "sluice_rate_limit_decisions_total"},
    {"breaker", "sluice_circuit_breaker_state"},
    {"endpoint health", "sluice_endpoint_healthy"},
    {"connections", "sluice_downstream_connections_active"},
};

YAML::Node compose_service(const std::string& name) {
  auto doc = load_yaml(compose_path());
  if (!doc) return YAML::Node();
  return (*doc)["services"][name];
}

bool is_compose_service(const std::string& name) {
  return compose_service(name).IsDefined();
}

TEST(Prometheus, ScrapesSluiceOnItsAdminPortAndOnlyKnownHosts) {
  auto doc = load_yaml(docker_dir() / "prometheus" / "prometheus.yml");
  ASSERT_TRUE(doc.has_value());
  const YAML::Node jobs = (*doc)["scrape_configs"];
  ASSERT_TRUE(jobs && jobs.IsSequence()) << "prometheus.yml has no scrape_configs";
  bool sluice_target = false;
  for (const auto& job : jobs) {
    ASSERT_TRUE(job["job_name"]) << "a scrape config without job_name";
    for (const auto& sc : job["static_configs"]) {
      for (const auto& t : sc["targets"]) {
        std::string target = t.as<std::string>();
        std::string host = host_of(target);
        EXPECT_TRUE(host == "localhost" || is_compose_service(host))
            << "scrape target " << target << " is neither localhost nor a compose service";
        if (target == "sluice:9901" && job["job_name"].as<std::string>() == "sluice")
          sluice_target = true;
      }
    }
  }
  EXPECT_TRUE(sluice_target)
      << "expected job `sluice` scraping sluice:9901 (admin.listen in docker/sluice.yaml)";
}

TEST(Prometheus, PromtoolAcceptsTheConfig) {
  if (!have_program("promtool"))
    GTEST_SKIP() << "promtool (Debian package prometheus) not installed";
  auto r =
      run_command({"promtool", "check", "config", "prometheus.yml"}, docker_dir() / "prometheus");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Prometheus, ComposeMountsTheConfig) {
  auto host = host_path_of(compose_service("prometheus"), "/etc/prometheus/prometheus.yml");
  ASSERT_TRUE(host.has_value()) << "compose does not mount /etc/prometheus/prometheus.yml";
  EXPECT_EQ(fs::weakly_canonical(*host),
            fs::weakly_canonical(docker_dir() / "prometheus" / "prometheus.yml"));
}

// The uid of the provisioned Prometheus datasource ("" and a failure if there is none).
std::string provisioned_datasource_uid() {
  const fs::path dir = docker_dir() / "grafana" / "provisioning" / "datasources";
  std::string uid;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto doc = load_yaml(e.path());
    if (!doc) continue;
    EXPECT_EQ((*doc)["apiVersion"].as<int>(0), 1) << e.path() << ": apiVersion must be 1";
    for (const auto& ds : (*doc)["datasources"]) {
      if (ds["type"].as<std::string>("") != "prometheus") continue;
      std::string url = ds["url"].as<std::string>("");
      std::smatch m;
      EXPECT_TRUE(std::regex_match(url, m, std::regex(R"(http://([^:/]+):(\d+)/?)")) &&
                  is_compose_service(m[1]))
          << e.path() << ": datasource url " << url << " is not http://<compose service>:<port>";
      EXPECT_TRUE(ds["uid"]) << e.path() << ": give the datasource a uid the dashboard can name";
      uid = ds["uid"].as<std::string>("");
    }
  }
  EXPECT_FALSE(uid.empty()) << "no prometheus datasource provisioned in " << dir;
  return uid;
}

TEST(Grafana, ProvisionsPrometheusAsADatasource) {
  provisioned_datasource_uid();
  for (const char* dir : {"datasources", "dashboards"}) {
    auto host =
        host_path_of(compose_service("grafana"), std::string("/etc/grafana/provisioning/") + dir);
    ASSERT_TRUE(host.has_value()) << "compose does not mount /etc/grafana/provisioning/" << dir;
    EXPECT_TRUE(fs::is_directory(*host)) << *host;
  }
}

TEST(Grafana, DashboardProviderPointsAtTheMountedDashboards) {
  const fs::path dir = docker_dir() / "grafana" / "provisioning" / "dashboards";
  int providers = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto doc = load_yaml(e.path());
    if (!doc) continue;
    EXPECT_EQ((*doc)["apiVersion"].as<int>(0), 1) << e.path() << ": apiVersion must be 1";
    for (const auto& p : (*doc)["providers"]) {
      ++providers;
      EXPECT_EQ(p["type"].as<std::string>(""), "file");
      std::string path = p["options"]["path"].as<std::string>("");
      auto host = host_path_of(compose_service("grafana"), path);
      ASSERT_TRUE(host.has_value())
          << e.path() << ": provider path " << path << " is not mounted by compose";
      EXPECT_TRUE(fs::exists(*host / "sluice.json"))
          << path << " (" << *host << ") has no sluice.json";
    }
  }
  EXPECT_GT(providers, 0) << "no dashboard provider in " << dir;
}

TEST(Grafana, DashboardQueriesSluiceMetrics) {
  const fs::path path = docker_dir() / "grafana" / "dashboards" / "sluice.json";
  boost::system::error_code ec;
  json::value dash = json::parse(read_text(path), ec);
  ASSERT_FALSE(ec) << path << " is not valid JSON: " << ec.message();
  ASSERT_TRUE(dash.is_object());
  const auto& d = dash.as_object();
  EXPECT_TRUE(d.contains("uid") && d.contains("title")) << "dashboard needs a uid and a title";
  ASSERT_TRUE(d.contains("panels") && d.at("panels").is_array());

  // Which data source each panel uses: grafana_dashboard_test.cpp.
  std::set<int64_t> ids;
  std::map<std::string, std::set<std::string>> metrics_by_title;  // lower-case title -> metrics
  std::regex metric_re("sluice_[a-z0-9_]+");
  for (const auto& pv : d.at("panels").as_array()) {
    const auto& p = pv.as_object();
    std::string title(p.at("title").as_string().c_str());
    EXPECT_TRUE(p.contains("id") && ids.insert(p.at("id").to_number<int64_t>()).second)
        << "panel `" << title << "` has no id or a duplicate one";
    EXPECT_TRUE(p.contains("gridPos")) << "panel `" << title << "` has no gridPos";
    std::string lower = title;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto& used = metrics_by_title[lower];
    ASSERT_TRUE(p.contains("targets")) << "panel `" << title << "` has no queries";
    for (const auto& tv : p.at("targets").as_array()) {
      const auto& t = tv.as_object();
      std::string expr(t.at("expr").as_string().c_str());
      for (std::sregex_iterator it(expr.begin(), expr.end(), metric_re), end; it != end; ++it)
        used.insert(it->str());
      EXPECT_FALSE(used.empty()) << "panel `" << title << "` queries no sluice metric: " << expr;
    }
  }
  for (const auto& [want, metric] : kPanels) {
    bool found = false;
    for (const auto& [title, used] : metrics_by_title)
      found |= title.find(want) != std::string::npos && used.count(metric);
    EXPECT_TRUE(found) << "no panel titled like `" << want << "` querying " << metric;
  }
}

}  // namespace
}  // namespace sluice::docker_testing
