// docker/ against a running sluice: the binary this tree builds, started on docker/sluice.yaml
// with only its addresses moved to loopback (listeners, admin and upstreams on free ports,
// Redis on a port that refuses), serves every metric family and label the Grafana dashboard
// queries, writes its JSON access log to stdout, and the Dockerfile's HEALTHCHECK command
// passes against its admin listener, then fails once it drains.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "docker_files.hpp"
#include "tests/support/backend_launcher.hpp"
#include "tests/support/process.hpp"
#include "tests/support/socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::docker_testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using sluice::testing::Millis;

struct HttpAnswer {
  int status = 0;  // 0: no answer
  std::string body;
};

// One request on a fresh connection (the admin serves one per connection).
HttpAnswer http(uint16_t port, const std::string& method, const std::string& path) {
  HttpAnswer out;
  auto s = testing::connect_loopback(port, Millis(3000));
  if (!s.valid()) return out;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  req += method == "POST" ? "X-Sluice-Admin: 1\r\nContent-Length: 0\r\n\r\n" : "\r\n";
  if (!testing::send_all(s, req, Millis(3000))) return out;
  auto r = testing::recv_until_eof(s, Millis(5000));
  if (r.data.rfind("HTTP/1.1 ", 0) != 0) return out;
  out.status = std::atoi(r.data.c_str() + 9);
  size_t body = r.data.find("\r\n\r\n");
  if (body != std::string::npos) out.body = r.data.substr(body + 4);
  return out;
}

// The series of a Prometheus text exposition: metric name -> label name -> values seen.
using Series = std::map<std::string, std::map<std::string, std::set<std::string>>>;

Series parse_exposition(const std::string& text) {
  Series out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t name_end = line.find_first_of("{ ");
    auto& labels = out[line.substr(0, name_end)];
    if (name_end == std::string::npos || line[name_end] != '{') continue;
    size_t i = name_end + 1;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
      std::string label = line.substr(i, eq - i), value;
      for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) ++i;  // \" \\ \n
        value += line[i];
      }
      labels[label].insert(value);
      i += 1;  // the closing quote
      if (i < line.size() && line[i] == ',') ++i;
    }
  }
  return out;
}

// A dashboard query with what it names: metrics, grouping and legend labels, matchers.
struct Query {
  std::string panel, expr;
  std::set<std::string> metrics;
  std::set<std::string> labels;  // by (...), without (...), {{legend}}
  struct Matcher {
    std::string metric, label, op, value;
  };
  std::vector<Matcher> matchers;
};

std::vector<std::string> split_labels(const std::string& list) {
  std::vector<std::string> out;
  std::regex word("[A-Za-z_][A-Za-z0-9_]*");
  for (std::sregex_iterator it(list.begin(), list.end(), word), end; it != end; ++it)
    out.push_back(it->str());
  return out;
}

std::vector<Query> dashboard_queries() {
  std::vector<Query> out;
  const fs::path path = docker_dir() / "grafana" / "dashboards" / "sluice.json";
  boost::system::error_code ec;
  json::value dash = json::parse(read_text(path), ec);
  if (ec || !dash.is_object() || !dash.as_object().contains("panels")) {
    ADD_FAILURE() << path << " is not a dashboard: " << ec.message();
    return out;
  }
  const std::regex metric_re("sluice_[a-z0-9_]+");
  const std::regex grouping_re(R"(\b(by|without)\s*\(([^)]*)\))");
  const std::regex selector_re(R"((sluice_[a-z0-9_]+)\s*\{([^}]*)\})");
  const std::regex matcher_re(R"(([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)\")");
  const std::regex legend_re(R"(\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\})");
  for (const auto& pv : dash.at("panels").as_array()) {
    const auto& p = pv.as_object();
    if (!p.contains("targets")) continue;
    for (const auto& tv : p.at("targets").as_array()) {
      const auto& t = tv.as_object();
      Query q;
      q.panel = p.at("title").as_string().c_str();
      q.expr = t.at("expr").as_string().c_str();
      const std::string& e = q.expr;
      for (std::sregex_iterator it(e.begin(), e.end(), metric_re), end; it != end; ++it)
        q.metrics.insert(it->str());
      for (std::sregex_iterator it(e.begin(), e.end(), grouping_re), end; it != end; ++it)
        for (auto& l : split_labels((*it)[2])) q.labels.insert(l);
      for (std::sregex_iterator it(e.begin(), e.end(), selector_re), end; it != end; ++it) {
        const std::string metric = (*it)[1], inside = (*it)[2];
        for (std::sregex_iterator m(inside.begin(), inside.end(), matcher_re), mend; m != mend; ++m)
          q.matchers.push_back({metric, (*m)[1], (*m)[2], (*m)[3]});
      }
      if (t.contains("legendFormat")) {
        std::string legend = t.at("legendFormat").as_string().c_str();
        for (std::sregex_iterator it(legend.begin(), legend.end(), legend_re), end; it != end; ++it)
          q.labels.insert((*it)[1]);
      }
      out.push_back(std::move(q));
    }
  }
  return out;
}

// The metrics the template variables list their values from (the job and instance pickers).
std::set<std::string> variable_metrics() {
  std::set<std::string> out;
  const fs::path path = docker_dir() / "grafana" / "dashboards" / "sluice.json";
  boost::system::error_code ec;
  json::value dash = json::parse(read_text(path), ec);
  if (ec || !dash.is_object() || !dash.as_object().contains("templating")) return out;
  const std::regex metric_re("sluice_[a-z0-9_]+");
  for (const auto& v : dash.at("templating").at("list").as_array()) {
    const auto& o = v.as_object();
    if (!o.contains("query") || !o.at("query").is_object()) continue;
    const std::string q = o.at("query").as_object().at("query").as_string().c_str();
    for (std::sregex_iterator it(q.begin(), q.end(), metric_re), end; it != end; ++it)
      out.insert(it->str());
  }
  return out;
}

class LiveSluice : public ::testing::Test {
 protected:
  void SetUp() override {
    auto doc = load_yaml(docker_dir() / "sluice.yaml");
    ASSERT_TRUE(doc.has_value());
    YAML::Node config = YAML::Clone(*doc);
    ASSERT_TRUE(config["admin"]["listen"]) << "docker/sluice.yaml has no admin.listen";
    docker_admin_port_ = port_of(config["admin"]["listen"].as<std::string>());

    // Same shape, loopback addresses: each distinct upstream address becomes one backend.
    std::map<std::string, std::string> upstreams;
    for (auto cluster : config["clusters"]) {
      for (auto e : cluster["endpoints"]) {
        const std::string address = e["address"].as<std::string>();
        if (!upstreams.count(address)) {
          testing::BackendOptions options;
          options.mode = "http";
          options.name = std::to_string(upstreams.size() + 1);
          backends_.push_back(testing::start_backend(dir_, options));
          upstreams[address] = backends_.back().address();
        }
        e["address"] = upstreams[address];
      }
    }
    for (auto l : config["listeners"]) {
      uint16_t port = testing::free_loopback_port();
      ports_[l["name"].as<std::string>()] = port;
      l["listen"] = testing::loopback_address(port);
    }
    admin_port_ = testing::free_loopback_port();
    config["admin"]["listen"] = testing::loopback_address(admin_port_);
    if (config["redis"]) {
      uint16_t refused = 0;
      redis_ = testing::reserve_refusing_port(&refused);
      config["redis"]["address"] = testing::loopback_address(refused);
    }
    YAML::Emitter out;
    out << config;
    const std::string path = dir_.write("sluice.yaml", out.c_str());

    sluice_.emplace(
        testing::Process::spawn({SLUICE_BINARY_PATH, "--config", path}, dir_.path(), "sluice"));
    ASSERT_TRUE(testing::wait_port_accepts(admin_port_, Millis(10000)))
        << "the admin listener did not come up:\n"
        << sluice_->describe();
    for (const auto& [name, port] : ports_)
      ASSERT_TRUE(testing::wait_port_accepts(port, Millis(10000)))
          << "listener " << name << " did not come up:\n"
          << sluice_->describe();
  }

  void TearDown() override {
    if (!sluice_) return;
    auto status = sluice_->stop(std::chrono::seconds(15));
    EXPECT_TRUE(status.success()) << status.to_string() << "\n" << sluice_->describe();
    if (HasFailure()) {
      dir_.keep();
      std::cerr << "kept " << dir_.path() << "\n";
    }
  }

  // A GET through a listener: the HTTP one answers with a backend's body, and the TCP one
  // relays the same exchange byte for byte.
  // The `scope: global` limit (whole-site) is decided by on_error until Redis first answers,
  // and here Redis never does (redis.address is a port that refuses connections):
  // docker/sluice.yaml says `on_error: allow`, so it admits from the first request. The retry
  // through a 429 is only a guard against a limit refusing for a moment, not a wait the global
  // limit needs.
  void get_through(const std::string& listener) {
    ASSERT_TRUE(ports_.count(listener)) << "docker/sluice.yaml has no listener " << listener;
    HttpAnswer answer;
    for (int attempt = 0; attempt < 50; ++attempt) {
      answer = http(ports_[listener], "GET", "/");
      if (answer.status != 429) break;
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(answer.status, 200) << "GET / through " << listener << ":\n" << sluice_->describe();
    EXPECT_EQ(answer.body.rfind("backend ", 0), 0u) << answer.body;
  }

  // The HEALTHCHECK's command, with docker/sluice.yaml's admin port replaced by ours.
  std::vector<std::string> healthcheck_argv() {
    auto stages = parse_dockerfile(read_text(docker_dir() / "Dockerfile"));
    std::vector<std::string> argv;
    if (stages.empty()) return argv;
    for (const auto& ins : stages.back().instructions)
      if (ins.keyword == "HEALTHCHECK") argv = parse_healthcheck(ins.args).exec;
    bool replaced = false;
    for (auto& a : argv) {
      for (const char* sep : {":", "/"}) {
        for (size_t at = 0; (at = a.find(sep + docker_admin_port_, at)) != std::string::npos;) {
          a.replace(at + 1, docker_admin_port_.size(), std::to_string(admin_port_));
          replaced = true;
          at += 1;
        }
      }
    }
    if (!argv.empty() && !replaced)
      ADD_FAILURE() << "the HEALTHCHECK does not name the admin port " << docker_admin_port_;
    return argv;
  }

  testing::TempDir dir_{"docker"};
  std::vector<testing::Backend> backends_;
  std::map<std::string, uint16_t> ports_;  // listener name -> loopback port
  std::string docker_admin_port_;
  uint16_t admin_port_ = 0;
  testing::Socket redis_;
  std::optional<testing::Process> sluice_;
};

TEST_F(LiveSluice, ServesEveryMetricAndLabelTheDashboardQueries) {
  // Traffic first, so the counters the dashboard rates have moved (the families exist anyway).
  get_through("web");
  get_through("web-l4");
  // And a 5xx: sluice_http_requests_total's series appear with their first response (exact
  // code and method), so the error-rate panel's code_class="5xx" needs one to match.
  for (auto& b : backends_) b.process.stop();
  EXPECT_GE(http(ports_["web"], "GET", "/").status, 500) << sluice_->describe();

  auto metrics = http(admin_port_, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200) << sluice_->describe();
  const Series series = parse_exposition(metrics.body);
  ASSERT_FALSE(series.empty()) << metrics.body;

  auto queries = dashboard_queries();
  ASSERT_FALSE(queries.empty());
  for (const auto& q : queries) {
    SCOPED_TRACE("panel `" + q.panel + "`: " + q.expr);
    for (const auto& m : q.metrics) {
      auto it = series.find(m);
      if (it == series.end()) {
        ADD_FAILURE() << "sluice exports no " << m;
        continue;
      }
      for (const auto& label : q.labels)
        EXPECT_TRUE(it->second.count(label)) << m << " has no label `" << label << "`";
    }
    for (const auto& matcher : q.matchers) {
      // The dashboard's job/instance filters: Prometheus adds these labels when it scrapes.
      if (matcher.label == "job" || matcher.label == "instance") continue;
      auto it = series.find(matcher.metric);
      if (it == series.end()) continue;  // reported above
      auto label = it->second.find(matcher.label);
      if (label == it->second.end()) {
        ADD_FAILURE() << matcher.metric << " has no label `" << matcher.label << "`";
        continue;
      }
      if (matcher.op == "=") {
        EXPECT_TRUE(label->second.count(matcher.value))
            << matcher.metric << "{" << matcher.label << "=\"" << matcher.value
            << "\"} matches no series sluice exports";
      }
    }
  }
  const std::set<std::string> pickers = variable_metrics();
  EXPECT_FALSE(pickers.empty()) << "no template variable lists sluice targets";
  for (const auto& m : pickers)
    EXPECT_TRUE(series.count(m)) << "a template variable lists values of " << m
                                 << ", which sluice does not export";
  // What the docker config should make visible: its clusters, policies and listeners.
  EXPECT_TRUE(series.at("sluice_circuit_breaker_state").count("cluster"))
      << "no breaker series: the `backends` cluster of docker/sluice.yaml has a breaker";
  EXPECT_EQ(series.at("sluice_rate_limit_decisions_total").at("policy"),
            (std::set<std::string>{"new-connections", "per-client", "whole-site"}));
  EXPECT_EQ(series.at("sluice_downstream_connections_active").at("listener"),
            (std::set<std::string>{"web", "web-l4"}));
}

TEST_F(LiveSluice, WritesTheJsonAccessLogToStdout) {
  get_through("web");
  // The writer thread batches; give it a moment.
  // Every stdout line is a JSON object (TCP relays, the probes of SetUp and 429s of the
  // start-up window included); one is our 200. The writer thread batches: give it a moment.
  auto field = [](const json::value& v, const char* key) -> std::string {
    const auto& o = v.as_object();
    return o.contains(key) && o.at(key).is_string() ? o.at(key).as_string().c_str() : "";
  };
  std::optional<json::value> last_http;  // of a 200
  for (int i = 0; i < 100 && !last_http; ++i) {
    std::istringstream out(sluice_->stdout_text());
    for (std::string line; std::getline(out, line);) {
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      ASSERT_TRUE(!ec && v.is_object()) << "not a JSON object on stdout: " << line;
      if (field(v, "kind") == "http" && v.as_object().at("status") == 200) last_http = v;
    }
    if (!last_http) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(last_http.has_value()) << "no access log line of an HTTP 200 on stdout:\n"
                                     << sluice_->describe();
  const std::string line = json::serialize(*last_http);
  EXPECT_EQ(field(*last_http, "listener"), "web") << line;
  EXPECT_EQ(field(*last_http, "route"), "all") << line;
  EXPECT_EQ(field(*last_http, "cluster"), "backends") << line;
}

TEST_F(LiveSluice, HealthcheckPassesWhileReadyAndFailsWhileDraining) {
  auto argv = healthcheck_argv();
  ASSERT_FALSE(argv.empty()) << "the runtime stage has no exec-form HEALTHCHECK";
  auto healthy = run_command(argv);
  EXPECT_EQ(healthy.exit_code, 0) << "the HEALTHCHECK fails against a ready sluice:\n"
                                  << healthy.output;

  // Hold a relay open through the TCP listener, so the drain lasts (idle HTTP keep-alive
  // connections would close at once and sluice would exit).
  auto relay = testing::connect_loopback(ports_.at("web-l4"), Millis(3000));
  ASSERT_TRUE(relay.valid());
  ASSERT_TRUE(testing::send_all(relay, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", Millis(3000)));

  auto drain = http(admin_port_, "POST", "/drain");
  EXPECT_EQ(drain.status, 202) << drain.body;
  EXPECT_EQ(http(admin_port_, "GET", "/ready").status, 503);
  auto draining = run_command(argv);
  EXPECT_NE(draining.exit_code, 0) << "the HEALTHCHECK passes while sluice drains:\n"
                                   << draining.output;

  relay.close();
  auto status = sluice_->wait(std::chrono::seconds(15));
  EXPECT_TRUE(status.success()) << status.to_string() << "\n" << sluice_->describe();
  auto gone = run_command(argv);
  EXPECT_NE(gone.exit_code, 0) << "the HEALTHCHECK passes with sluice gone:\n" << gone.output;
}

}  // namespace
}  // namespace sluice::docker_testing
