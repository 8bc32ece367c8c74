// docker/grafana/dashboards/sluice.json must import into any Grafana without editing: the
// data source is a `datasource` template variable (defaulting to the one compose provisions),
// every panel, query and variable uses it, and every query is filtered by the `job` and
// `instance` variables, so one dashboard serves any number of sluice targets next to other
// jobs. Which metrics and labels it names is checked against a running sluice in
// live_sluice_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "docker_files.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::docker_testing {
namespace {

namespace json = boost::json;

const json::object kDatasource{{"type", "prometheus"}, {"uid", "${datasource}"}};
constexpr const char* kJob = R"(job=~"$job")";
constexpr const char* kInstance = R"(instance=~"$instance")";

json::object dashboard() {
  const fs::path path = docker_dir() / "grafana" / "dashboards" / "sluice.json";
  boost::system::error_code ec;
  json::value v = json::parse(read_text(path), ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << path << " is not a JSON object: " << ec.message();
    return {};
  }
  return v.as_object();
}

std::string str(const json::object& o, const char* key) {
  return o.contains(key) && o.at(key).is_string() ? o.at(key).as_string().c_str() : "";
}

// The template variable called `name` (a failure and an empty object when there is none).
json::object variable(const json::object& dash, const std::string& name) {
  if (dash.contains("templating"))
    for (const auto& v : dash.at("templating").at("list").as_array())
      if (str(v.as_object(), "name") == name) return v.as_object();
  ADD_FAILURE() << "the dashboard has no template variable `" << name << "`";
  return {};
}

// The name and uid of the Prometheus data source compose provisions.
std::pair<std::string, std::string> provisioned_datasource() {
  const fs::path dir = docker_dir() / "grafana" / "provisioning" / "datasources";
  for (const auto& e : fs::directory_iterator(dir)) {
    auto doc = load_yaml(e.path());
    if (!doc) continue;
    for (const auto& ds : (*doc)["datasources"])
      if (ds["type"].as<std::string>("") == "prometheus")
        return {ds["name"].as<std::string>(""), ds["uid"].as<std::string>("")};
  }
  ADD_FAILURE() << "no prometheus data source provisioned in " << dir;
  return {};
}

// Every "datasource" member anywhere in `v`, with where it was found.
void collect_datasources(const json::value& v, const std::string& where,
                         std::vector<std::pair<std::string, json::value>>& out) {
  if (v.is_array()) {
    size_t i = 0;
    for (const auto& e : v.as_array())
      collect_datasources(e, where + "[" + std::to_string(i++) + "]", out);
  } else if (v.is_object()) {
    for (const auto& [key, value] : v.as_object()) {
      const std::string at = where + "." + std::string(key);
      if (key == "datasource") out.emplace_back(at, value);
      collect_datasources(value, at, out);
    }
  }
}

// The PromQL of every panel query.
std::vector<std::pair<std::string, std::string>> queries(const json::object& dash) {
  std::vector<std::pair<std::string, std::string>> out;  // (where, expr)
  for (const auto& pv : dash.at("panels").as_array()) {
    const auto& p = pv.as_object();
    if (!p.contains("targets")) continue;
    for (const auto& t : p.at("targets").as_array())
      out.emplace_back("panel `" + str(p, "title") + "`", str(t.as_object(), "expr"));
  }
  return out;
}

TEST(GrafanaDashboard, DatasourceVariableDefaultsToTheProvisionedOne) {
  const json::object dash = dashboard();
  const json::object ds = variable(dash, "datasource");
  EXPECT_EQ(str(ds, "type"), "datasource");
  EXPECT_EQ(str(ds, "query"), "prometheus") << "the variable must offer Prometheus data sources";
  // Grafana keeps `current` when an option has its text, so the compose deployment opens on the
  // provisioned data source; any other Grafana falls back to its first Prometheus one.
  const auto [name, uid] = provisioned_datasource();
  ASSERT_TRUE(ds.contains("current") && ds.at("current").is_object());
  EXPECT_EQ(str(ds.at("current").as_object(), "text"), name);
  EXPECT_EQ(str(ds.at("current").as_object(), "value"), uid);
}

TEST(GrafanaDashboard, EveryPanelQueryAndVariableUsesTheDatasourceVariable) {
  const json::object dash = dashboard();
  std::vector<std::pair<std::string, json::value>> found;
  collect_datasources(dash, "dashboard", found);
  for (const auto& [where, value] : found)
    EXPECT_EQ(value, json::value(kDatasource))
        << where << " names a data source other than ${datasource}: " << json::serialize(value);

  // And none is left out (a panel without one would use the default data source).
  for (const auto& pv : dash.at("panels").as_array()) {
    const auto& p = pv.as_object();
    EXPECT_TRUE(p.contains("datasource")) << "panel `" << str(p, "title") << "` has no datasource";
    for (const auto& t : p.at("targets").as_array())
      EXPECT_TRUE(t.as_object().contains("datasource"))
          << "a query of panel `" << str(p, "title") << "` has no datasource";
  }
  for (const auto& v : dash.at("templating").at("list").as_array()) {
    if (str(v.as_object(), "type") != "query") continue;
    EXPECT_TRUE(v.as_object().contains("datasource"))
        << "variable `" << str(v.as_object(), "name") << "` has no datasource";
  }
}

TEST(GrafanaDashboard, JobAndInstanceVariablesListSluiceTargets) {
  const json::object dash = dashboard();
  const std::regex job_query(R"(label_values\(sluice_[a-z0-9_]+, job\))");
  const std::regex instance_query(R"(label_values\(sluice_[a-z0-9_]+\{job=~"\$job"\}, instance\))");
  for (const char* name : {"job", "instance"}) {
    SCOPED_TRACE(name);
    const json::object v = variable(dash, name);
    EXPECT_EQ(str(v, "type"), "query");
    EXPECT_EQ(v.contains("multi") && v.at("multi").as_bool(), true) << "pick several";
    EXPECT_EQ(v.contains("includeAll") && v.at("includeAll").as_bool(), true) << "and All";
    ASSERT_TRUE(v.contains("query") && v.at("query").is_object());
    const std::string query = str(v.at("query").as_object(), "query");
    EXPECT_TRUE(std::regex_match(query, std::string(name) == "job" ? job_query : instance_query))
        << query;
    EXPECT_EQ(str(v, "definition"), query) << "the editor shows `definition`";
  }
}

TEST(GrafanaDashboard, EveryQueryIsFilteredByJobAndInstance) {
  const json::object dash = dashboard();
  const std::regex selector_re(R"((sluice_[a-z0-9_]+)(\s*\{([^}]*)\})?)");
  size_t selectors = 0;
  for (const auto& [where, expr] : queries(dash)) {
    for (std::sregex_iterator it(expr.begin(), expr.end(), selector_re), end; it != end; ++it) {
      ++selectors;
      const std::string matchers = (*it)[3];
      EXPECT_NE(matchers.find(kJob), std::string::npos)
          << where << ": " << (*it)[0] << " is not filtered by " << kJob << " in " << expr;
      EXPECT_NE(matchers.find(kInstance), std::string::npos)
          << where << ": " << (*it)[0] << " is not filtered by " << kInstance << " in " << expr;
    }
  }
  EXPECT_GT(selectors, 0u) << "no sluice metric queried";
}

// Grafana's variables as a query would see them with All selected.
std::string interpolate(std::string expr) {
  const std::pair<const char*, const char*> kValues[] = {
      {"$__rate_interval", "1m"}, {"$__range", "1h"}, {"$instance", ".*"}, {"$job", ".*"}};
  for (const auto& [name, value] : kValues)
    for (size_t at; (at = expr.find(name)) != std::string::npos;)
      expr.replace(at, std::string_view(name).size(), value);
  return expr;
}

TEST(GrafanaDashboard, EveryQueryIsValidPromQL) {
  if (!have_program("promtool"))
    GTEST_SKIP() << "promtool (Debian package prometheus) not installed";
  // promtool parses the expressions of a rules file: one recording rule per query.
  std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
  size_t n = 0;
  for (const auto& [where, expr] : queries(dashboard())) {
    std::string quoted;
    for (char c : interpolate(expr)) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    rules += "      - record: q" + std::to_string(n++) + "\n        expr: '" + quoted + "'\n";
  }
  testing::TempDir dir("grafana");
  const std::string path = dir.write("rules.yml", rules);
  const CommandResult r = run_command({"promtool", "check", "rules", path});
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << rules;
}

TEST(GrafanaDashboard, RequiresWhatItUsesForTheImportDialog) {
  const json::object dash = dashboard();
  ASSERT_TRUE(dash.contains("__requires") && dash.at("__requires").is_array());
  std::set<std::pair<std::string, std::string>> required;  // (type, id)
  for (const auto& r : dash.at("__requires").as_array())
    required.emplace(str(r.as_object(), "type"), str(r.as_object(), "id"));
  EXPECT_TRUE(required.count({"grafana", "grafana"}));
  EXPECT_TRUE(required.count({"datasource", "prometheus"}));
  for (const auto& p : dash.at("panels").as_array())
    EXPECT_TRUE(required.count({"panel", str(p.as_object(), "type")}))
        << "__requires lacks panel type " << str(p.as_object(), "type");
  // Importing must not need a value the import dialog would ask for: the data source is the
  // variable's business, and an id would clash with the importing Grafana's own dashboards.
  for (const auto& input :
       dash.contains("__inputs") ? dash.at("__inputs").as_array() : json::array{})
    ADD_FAILURE() << "unexpected __inputs entry " << json::serialize(input);
  EXPECT_FALSE(dash.contains("id") && !dash.at("id").is_null()) << "a fixed dashboard id";
  EXPECT_EQ(json::serialize(dash).find("${DS_"), std::string::npos)
      << "an import placeholder that provisioning would leave unresolved";
}

}  // namespace
}  // namespace sluice::docker_testing
