// Route lookup of an http listener with 1, 100 and 1,000 routes (proxy/l7/rules/RouteTable),
// against the linear scan it replaced (http::match_route). The routes are what a big
// gateway config looks like: per-service path prefixes, some exact paths, a few hosts, a
// handful of regex routes, and a catch-all last; requests hit routes spread over the table
// (so the linear scan's cost is its average depth) and the catch-all.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "proxy/l7/h1/head_parser.hpp"
#include "proxy/l7/h1/route.hpp"
#include "proxy/l7/rules/route_table.hpp"

namespace sluice::proxy {
namespace {

std::vector<config::Route> make_routes(int n) {
  std::vector<config::Route> routes;
  for (int i = 0; i + 1 < n; ++i) {
    config::Route r;
    r.name = std::to_string(i);
    if (i % 10 == 3)
      r.match.path_exact = "/svc" + std::to_string(i) + "/health";
    else
      r.match.path_prefix = "/svc" + std::to_string(i) + "/";
    if (i % 25 == 7) r.match.host = "host" + std::to_string(i % 4) + ".example.com";
    if (i % 50 == 11) r.match.methods = {"POST"};
    routes.push_back(r);
  }
  config::Route all;
  all.name = "all";
  all.match.path_prefix = "/";
  routes.push_back(all);
  return routes;
}

// Parsed request heads; the parsers own what the heads point at.
struct Requests {
  explicit Requests(int n) {
    std::mt19937 rng(1);
    for (int i = 0; i < 64; ++i) {
      const int target = static_cast<int>(rng() % static_cast<unsigned>(n + 1));
      const std::string path = target % 10 == 3 ? "/svc" + std::to_string(target) + "/health"
                                                : "/svc" + std::to_string(target) + "/items/42";
      raw.push_back("GET " + path + "?page=2 HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
    }
    for (const auto& r : raw) {
      parsers.push_back(http::HeadParser::request({}));
      size_t used = 0;
      parsers.back().feed(r, used);
    }
  }
  std::vector<std::string> raw;
  std::vector<http::HeadParser> parsers;
};

void BM_RouteIndexed(benchmark::State& state) {
  const auto routes = make_routes(static_cast<int>(state.range(0)));
  const rules::RouteTable table(routes);
  const Requests requests(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.match(requests.parsers[i++ & 63].head()));
  }
}
BENCHMARK(BM_RouteIndexed)->Arg(1)->Arg(100)->Arg(1000);

void BM_RouteLinear(benchmark::State& state) {
  const auto routes = make_routes(static_cast<int>(state.range(0)));
  const Requests requests(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(http::match_route(routes, requests.parsers[i++ & 63].head()));
  }
}
BENCHMARK(BM_RouteLinear)->Arg(1)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace sluice::proxy

BENCHMARK_MAIN();
