// Exposition: exact values summed over worker slots, histogram buckets, breaker and endpoint
// series, the endpoint cap, label escaping.
#include "proxy/metrics/exposition.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "metrics_test_util.hpp"

namespace sluice::proxy::metrics {
namespace {

using test::sample;
using test::sample_text;
using test::samples_of;

TEST(Exposition, ListenerCountersAreSummedOverWorkers) {
  Registry r(3);
  auto l = r.listener("web", "http");
  for (unsigned w = 0; w < 3; ++w) {
    l->per_worker.at(w).connections.add(10 * (w + 1));  // 10 + 20 + 30
    l->per_worker.at(w).bytes_received.add(1000 + w);   // 3003
    l->per_worker.at(w).bytes_sent.add(123456789012);   // beyond float precision
  }
  // A gauge may go negative on one worker and still sum right.
  l->per_worker.at(0).active.add(5);
  l->per_worker.at(1).active.sub(2);
  l->per_worker.at(2).active.add(1);

  auto text = render(r, {});
  EXPECT_EQ(sample(text, R"(sluice_downstream_connections_total{listener="web"})"), 60);
  EXPECT_EQ(sample(text, R"(sluice_downstream_connections_active{listener="web"})"), 4);
  EXPECT_EQ(sample(text, R"(sluice_downstream_bytes_received_total{listener="web"})"), 3003);
  EXPECT_EQ(sample_text(text, R"(sluice_downstream_bytes_sent_total{listener="web"})"),
            "370370367036");
  EXPECT_EQ(sample(text, R"(sluice_listener_info{listener="web",protocol="http"})"), 1);
}

TEST(Exposition, RouteResponsesByMethodAndExactCodeAreSummedOverWorkers) {
  Registry r(3);
  auto route = r.route("web", "users", "api");
  auto unmatched = r.route("web", "", "");
  auto count = [](RouteStats& s, unsigned w, std::string_view method, int status, int times) {
    for (int i = 0; i < times; ++i) s.per_worker.at(w).count(method_index(method), status);
  };
  count(*route, 0, "GET", 200, 4);
  count(*route, 2, "GET", 200, 3);  // another worker's table, another order
  count(*route, 2, "POST", 204, 1);
  count(*route, 1, "BREW", 503, 2);  // not a registered method: OTHER
  count(*route, 1, "GET", 1000, 1);  // no real status: code "other", class 5xx
  count(*unmatched, 2, "HEAD", 404, 6);

  auto text = render(r, {});
  const std::string prefix =
      R"(sluice_http_requests_total{listener="web",route="users",cluster="api",method=")";
  EXPECT_EQ(sample(text, prefix + R"(GET",code="200",code_class="2xx"})"), 7);
  EXPECT_EQ(sample(text, prefix + R"(POST",code="204",code_class="2xx"})"), 1);
  EXPECT_EQ(sample(text, prefix + R"(OTHER",code="503",code_class="5xx"})"), 2);
  EXPECT_EQ(sample(text, prefix + R"(GET",code="other",code_class="5xx"})"), 1);
  EXPECT_EQ(sample(text, R"(sluice_http_requests_total{listener="web",route="",cluster="",)"
                         R"(method="HEAD",code="404",code_class="4xx"})"),
            6);
  EXPECT_EQ(samples_of(text, "sluice_http_requests_total").size(), 5u);
}

TEST(Exposition, ARouteBeyondItsDistinctCodesCountsTheRestByClass) {
  Registry r(1);
  auto route = r.route("web", "odd", "api");
  RouteCounters& c = route->per_worker.at(0);
  for (int status = 200; status < 200 + int(RouteCounters::kPairs); ++status) c.count(0, status);
  c.count(0, 299);  // one pair too many
  c.count(0, 299);
  c.count(0, 200);  // a known pair still counts exactly
  auto text = render(r, {});
  EXPECT_EQ(sample(text, R"(sluice_http_requests_total{listener="web",route="odd",cluster="api",)"
                         R"(method="GET",code="200",code_class="2xx"})"),
            2);
  EXPECT_EQ(sample(text, R"(sluice_http_requests_total{listener="web",route="odd",cluster="api",)"
                         R"(method="GET",code="other",code_class="2xx"})"),
            2);
  EXPECT_EQ(samples_of(text, "sluice_http_requests_total").size(), RouteCounters::kPairs + 1);
}

TEST(Exposition, RequestDurationsAreAHistogramPerRoute) {
  Registry r(2);
  auto route = r.route("web", "users", "api");
  route->per_worker.at(0).duration.observe_ns(2'000'000);    // 2 ms
  route->per_worker.at(1).duration.observe_ns(300'000'000);  // 300 ms
  auto text = render(r, {});
  const std::string labels = R"({listener="web",route="users",cluster="api")";
  EXPECT_EQ(sample(text, "sluice_http_request_duration_seconds_count" + labels + "}"), 2);
  EXPECT_EQ(
      sample(text, "sluice_http_request_duration_seconds_bucket" + labels + R"(,le="0.0025"})"), 1);
  EXPECT_EQ(sample(text, "sluice_http_request_duration_seconds_bucket" + labels + R"(,le="0.5"})"),
            2);
  EXPECT_DOUBLE_EQ(sample(text, "sluice_http_request_duration_seconds_sum" + labels + "}"), 0.302);
}

TEST(Exposition, ClusterCountersAreSummedOverWorkers) {
  Registry r(3);
  auto c = r.cluster("api");
  for (unsigned w = 0; w < 3; ++w) {
    auto& s = c->per_worker.at(w);
    s.requests.add(100);
    s.responses[code_class_index(200)].add(90);
    s.responses[code_class_index(502)].add(w);
    s.connect_failures.add(w + 1);
    s.retries.add(2);
    s.timeouts.add(w == 1 ? 5 : 0);
    s.connections_active.add(w == 0 ? 8 : -1);
    s.bytes_sent.add(1 << 20);
    s.bytes_received.add(7);
  }
  auto text = render(r, {});
  EXPECT_EQ(sample(text, R"(sluice_upstream_requests_total{cluster="api"})"), 300);
  EXPECT_EQ(sample(text, R"(sluice_upstream_responses_total{cluster="api",code_class="2xx"})"),
            270);
  EXPECT_EQ(sample(text, R"(sluice_upstream_responses_total{cluster="api",code_class="5xx"})"), 3);
  EXPECT_EQ(sample(text, R"(sluice_upstream_responses_total{cluster="api",code_class="1xx"})"), 0);
  EXPECT_EQ(sample(text, R"(sluice_upstream_connect_failures_total{cluster="api"})"), 6);
  EXPECT_EQ(sample(text, R"(sluice_upstream_retries_total{cluster="api"})"), 6);
  EXPECT_EQ(sample(text, R"(sluice_upstream_timeouts_total{cluster="api"})"), 5);
  EXPECT_EQ(sample(text, R"(sluice_upstream_connections_active{cluster="api"})"), 6);
  EXPECT_EQ(sample(text, R"(sluice_upstream_bytes_sent_total{cluster="api"})"), 3 << 20);
  EXPECT_EQ(sample(text, R"(sluice_upstream_bytes_received_total{cluster="api"})"), 21);
}

TEST(Exposition, HistogramIsCumulativeInSeconds) {
  Registry r(3);
  auto c = r.cluster("api");
  c->per_worker.at(0).duration.observe_ns(400'000);         // le 0.0005
  c->per_worker.at(1).duration.observe_ns(500'000);         // le 0.0005: bounds are inclusive
  c->per_worker.at(2).duration.observe_ns(3'000'000);       // le 0.005
  c->per_worker.at(2).duration.observe_ns(750'000'000);     // le 1
  c->per_worker.at(0).duration.observe_ns(20'000'000'000);  // +Inf only

  auto text = render(r, {});
  auto bucket = [&](const char* le) {
    return sample(
        text, std::string(R"(sluice_upstream_request_duration_seconds_bucket{cluster="api",le=")") +
                  le + "\"}");
  };
  EXPECT_EQ(bucket("0.0005"), 2);
  EXPECT_EQ(bucket("0.001"), 2);
  EXPECT_EQ(bucket("0.0025"), 2);
  EXPECT_EQ(bucket("0.005"), 3);
  EXPECT_EQ(bucket("0.5"), 3);
  EXPECT_EQ(bucket("1"), 4);
  EXPECT_EQ(bucket("10"), 4);
  EXPECT_EQ(bucket("+Inf"), 5);
  EXPECT_EQ(samples_of(text, "sluice_upstream_request_duration_seconds_bucket").size(),
            kLatencyBuckets + 1);
  EXPECT_EQ(sample(text, R"(sluice_upstream_request_duration_seconds_count{cluster="api"})"), 5);
  EXPECT_DOUBLE_EQ(sample(text, R"(sluice_upstream_request_duration_seconds_sum{cluster="api"})"),
                   20.7539);
}

TEST(Exposition, RateLimitDecisions) {
  Registry r(2);
  auto p = r.rate_limit("per_ip");
  p->per_worker.at(0).admitted.add(10);
  p->per_worker.at(1).admitted.add(5);
  p->per_worker.at(1).limited.add(2);
  auto text = render(r, {});
  EXPECT_EQ(
      sample(text, R"(sluice_rate_limit_decisions_total{policy="per_ip",outcome="admitted"})"), 15);
  EXPECT_EQ(sample(text, R"(sluice_rate_limit_decisions_total{policy="per_ip",outcome="limited"})"),
            2);
}

TEST(Exposition, BreakerAndOutlierSeriesOnlyWhereConfigured) {
  Registry r(1);
  limiter::CircuitBreakerStats b;
  b.state = limiter::BreakerState::half_open;
  b.opened_by_consecutive = 2;
  b.opened_by_ratio = 1;
  b.reopened = 4;
  b.half_opened = 5;
  b.closed = 1;
  b.rejected = 99;
  std::vector<ClusterStatus> clusters = {
      {.name = "api", .breaker = b, .outlier_ejections = 3},
      {.name = "plain"},
  };
  auto text = render(r, clusters);
  EXPECT_EQ(sample(text, R"(sluice_circuit_breaker_state{cluster="api"})"), 2);
  EXPECT_EQ(sample(text, R"(sluice_circuit_breaker_transitions_total{cluster="api",to="open"})"),
            7);
  EXPECT_EQ(
      sample(text, R"(sluice_circuit_breaker_transitions_total{cluster="api",to="half_open"})"), 5);
  EXPECT_EQ(sample(text, R"(sluice_circuit_breaker_transitions_total{cluster="api",to="closed"})"),
            1);
  EXPECT_EQ(sample(text, R"(sluice_circuit_breaker_rejected_total{cluster="api"})"), 99);
  EXPECT_EQ(sample(text, R"(sluice_outlier_ejections_total{cluster="api"})"), 3);
  EXPECT_EQ(samples_of(text, "sluice_circuit_breaker_state").size(), 1u);
  EXPECT_EQ(samples_of(text, "sluice_outlier_ejections_total").size(), 1u);

  clusters[0].breaker->state = limiter::BreakerState::open;
  EXPECT_EQ(sample(render(r, clusters), R"(sluice_circuit_breaker_state{cluster="api"})"), 1);
  clusters[0].breaker->state = limiter::BreakerState::closed;
  EXPECT_EQ(sample(render(r, clusters), R"(sluice_circuit_breaker_state{cluster="api"})"), 0);
}

std::vector<EndpointStatus> endpoints(int n, const std::string& prefix) {
  std::vector<EndpointStatus> out;
  for (int i = 0; i < n; ++i) out.push_back({.address = prefix + std::to_string(i)});
  return out;
}

TEST(Exposition, EndpointSeries) {
  Registry r(1);
  std::vector<ClusterStatus> clusters = {{.name = "api",
                                          .endpoints = {{.address = "10.0.0.1:80",
                                                         .weight = 3,
                                                         .healthy = false,
                                                         .ejected = true,
                                                         .in_flight = 12}}}};
  auto text = render(r, clusters);
  const std::string labels = R"({cluster="api",endpoint="10.0.0.1:80"})";
  EXPECT_EQ(sample(text, "sluice_endpoint_healthy" + labels), 0);
  EXPECT_EQ(sample(text, "sluice_endpoint_ejected" + labels), 1);
  EXPECT_EQ(sample(text, "sluice_endpoint_requests_in_flight" + labels), 12);
  EXPECT_EQ(sample(text, "sluice_endpoint_weight" + labels), 3);
  EXPECT_EQ(sample(text, "sluice_endpoint_series_dropped"), 0);
}

TEST(Exposition, EndpointCapSharesFairlyAndCountsTheDropped) {
  Registry r(1);
  r.set_endpoint_series_cap(5);
  std::vector<ClusterStatus> clusters = {{.name = "big", .endpoints = endpoints(10, "b")},
                                         {.name = "small", .endpoints = endpoints(2, "s")}};
  auto text = render(r, clusters);
  // small keeps both; big gets what is left, its first endpoints in order.
  EXPECT_EQ(samples_of(text, "sluice_endpoint_healthy").size(), 5u);
  EXPECT_EQ(samples_of(text, "sluice_endpoint_weight").size(), 5u);
  EXPECT_TRUE(sample_text(text, R"(sluice_endpoint_healthy{cluster="small",endpoint="s1"})"));
  EXPECT_TRUE(sample_text(text, R"(sluice_endpoint_healthy{cluster="big",endpoint="b2"})"));
  EXPECT_FALSE(sample_text(text, R"(sluice_endpoint_healthy{cluster="big",endpoint="b3"})"));
  EXPECT_EQ(sample(text, "sluice_endpoint_series_dropped"), 7);

  r.set_endpoint_series_cap(0);
  text = render(r, clusters);
  EXPECT_TRUE(samples_of(text, "sluice_endpoint_healthy").empty());
  EXPECT_EQ(sample(text, "sluice_endpoint_series_dropped"), 12);
}

TEST(Exposition, DefaultEndpointCapIsAThousand) {
  Registry r(1);
  std::vector<ClusterStatus> clusters = {{.name = "a", .endpoints = endpoints(700, "a")},
                                         {.name = "b", .endpoints = endpoints(700, "b")},
                                         {.name = "c", .endpoints = endpoints(10, "c")}};
  auto text = render(r, clusters);
  EXPECT_EQ(samples_of(text, "sluice_endpoint_in_flight").size(), 0u);  // not a family name
  EXPECT_EQ(samples_of(text, "sluice_endpoint_requests_in_flight").size(), 1000u);
  EXPECT_EQ(sample(text, "sluice_endpoint_series_dropped"), 410);
  EXPECT_TRUE(sample_text(text, R"(sluice_endpoint_weight{cluster="c",endpoint="c9"})"));
}

TEST(Exposition, DuplicateNamesAreExportedOnce) {
  Registry r(1);
  std::vector<ClusterStatus> clusters = {
      {.name = "api", .endpoints = {{.address = "x", .weight = 1}, {.address = "x", .weight = 2}}},
      {.name = "api", .endpoints = {{.address = "y"}}}};
  auto text = render(r, clusters);
  EXPECT_EQ(samples_of(text, "sluice_endpoint_weight").size(), 1u);
  EXPECT_EQ(sample(text, R"(sluice_endpoint_weight{cluster="api",endpoint="x"})"), 1);
}

TEST(Exposition, LabelValuesAreEscaped) {
  Registry r(1);
  auto l = r.listener("we\"b\\1\nx", "http");
  l->per_worker.at(0).connections.add(2);
  auto text = render(r, {});
  EXPECT_EQ(sample(text, R"(sluice_downstream_connections_total{listener="we\"b\\1\nx"})"), 2);
}

TEST(Exposition, ProcessSeries) {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  Registry r(1);
  r.set_build_version("0.1.0");
  r.set_start_time(system_clock::time_point(seconds(1700000000)));
  r.reload_succeeded("cafe", system_clock::time_point(seconds(1700000100)));
  r.reload_failed();
  r.set_access_log_counts(42, 3);
  auto text = render(r, {});
  EXPECT_EQ(sample(text, R"(sluice_build_info{version="0.1.0"})"), 1);
  EXPECT_EQ(sample_text(text, "sluice_process_start_time_seconds"), "1700000000");
  EXPECT_EQ(sample(text, R"(sluice_config_info{hash="cafe"})"), 1);
  EXPECT_EQ(sample(text, R"(sluice_config_reloads_total{result="success"})"), 1);
  EXPECT_EQ(sample(text, R"(sluice_config_reloads_total{result="failure"})"), 1);
  EXPECT_EQ(sample_text(text, "sluice_config_last_reload_success_timestamp_seconds"), "1700000100");
  EXPECT_EQ(sample(text, "sluice_access_log_lines_total"), 42);
  EXPECT_EQ(sample(text, "sluice_access_log_dropped_total"), 3);
  // No usage given: no process_* series rather than zeros.
  EXPECT_EQ(text.find("process_cpu_seconds_total"), std::string::npos) << text;
}

// The standard names and types, so dashboards made for any Prometheus client work.
TEST(Exposition, StandardProcessSeries) {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  Registry r(1);
  r.set_start_time(system_clock::time_point(seconds(1700000000)));
  r.set_process_usage({.cpu_seconds = 12.5,
                       .resident_bytes = 4096,
                       .virtual_bytes = 8192,
                       .open_fds = 17,
                       .max_fds = 20000});
  auto text = render(r, {});
  EXPECT_EQ(sample(text, "process_cpu_seconds_total"), 12.5);
  EXPECT_EQ(sample(text, "process_resident_memory_bytes"), 4096);
  EXPECT_EQ(sample(text, "process_virtual_memory_bytes"), 8192);
  EXPECT_EQ(sample(text, "process_open_fds"), 17);
  EXPECT_EQ(sample(text, "process_max_fds"), 20000);
  EXPECT_EQ(sample_text(text, "process_start_time_seconds"), "1700000000");
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE process_open_fds gauge"), std::string::npos) << text;
}

TEST(Exposition, EmptyFamiliesAreLeftOutButTheDroppedGaugeStays) {
  Registry r(1);
  auto text = render(r, {});
  EXPECT_EQ(text.find("sluice_rate_limit_decisions_total"), std::string::npos);
  EXPECT_EQ(text.find("sluice_upstream_request_duration_seconds"), std::string::npos);
  EXPECT_EQ(text.find("sluice_circuit_breaker_state"), std::string::npos);
  EXPECT_EQ(sample(text, "sluice_endpoint_series_dropped"), 0);
  EXPECT_EQ(sample(text, "sluice_access_log_lines_total"), 0);
}

}  // namespace
}  // namespace sluice::proxy::metrics
