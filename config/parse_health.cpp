// clusters[].health_check, and the cluster keys that decide what failing checks do to routing:
// panic_threshold, panic and slow_start (at the cluster, where Envoy users find
// healthy_panic_threshold and slow_start_config: they apply to outlier ejection as well).
#include <string>

#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {
namespace {

// "50" or "50%": a whole percentage in [min, max].
std::optional<int> percent(Reader& r, const Field& field, int min, int max) {
  if (!field.value.IsScalar() || field.value.Scalar().empty() ||
      field.value.Scalar().back() != '%') {
    auto n = r.integer(field, min, max);
    return n ? std::optional<int>(static_cast<int>(*n)) : std::nullopt;
  }
  const std::string text = field.value.Scalar();
  auto parsed = parse_integer(std::string_view(text).substr(0, text.size() - 1));
  if (!parsed || *parsed.value < min || *parsed.value > max) {
    r.error(field, "expected a percentage between " + std::to_string(min) + "% and " +
                       std::to_string(max) + "%, got " + text);
    return std::nullopt;
  }
  return static_cast<int>(*parsed.value);
}

// 204, "200-399": one status or an inclusive range, each within 100-599.
std::optional<StatusRange> status_range(Reader& r, const Field& field) {
  auto text = r.string(field);
  if (!text) return std::nullopt;
  const std::string expected =
      "expected an HTTP status (100-599) or a range like 200-399, got '" + *text + "'";
  const size_t dash = text->find('-');
  auto low = parse_integer(std::string_view(*text).substr(0, dash));
  auto high =
      dash == std::string::npos ? low : parse_integer(std::string_view(*text).substr(dash + 1));
  if (!low || !high || *low.value < 100 || *high.value > 599 || *low.value > *high.value) {
    r.error(field, expected);
    return std::nullopt;
  }
  return StatusRange{static_cast<int>(*low.value), static_cast<int>(*high.value)};
}

// expect: 200 | "200-399" | [200, 204, "300-399"]
std::vector<StatusRange> parse_expect(Reader& r, const Field& field) {
  std::vector<StatusRange> ranges;
  if (!field.value.IsSequence()) {
    if (auto range = status_range(r, field)) ranges.push_back(*range);
    return ranges;
  }
  auto items = r.list(field);
  if (items.empty()) r.error(field, "needs at least one status");
  for (const auto& item : items)
    if (auto range = status_range(r, item)) ranges.push_back(*range);
  return ranges;
}

void parse_http(Reader& r, const Field& field, HealthCheck& check) {
  check.kind = HealthCheck::Kind::http;
  MapReader http(r, field);
  if (auto p = http.get("path")) {
    if (auto path = r.string(*p)) {
      if (path->empty() || (*path)[0] != '/')
        r.error(*p, "a path starts with '/', got '" + *path + "'");
      else if (path->find_first_of(" \t\r\n") != std::string::npos)
        r.error(*p, "a path has no spaces or line breaks");
      check.http_path = *path;
    }
  }
  if (auto h = http.get("host")) {
    if (auto host = r.string(*h)) {
      // Host is host[:port]; anything else would corrupt the request head.
      if (host->empty() || host->find_first_of(" \t\r\n/") != std::string::npos)
        r.error(*h,
                "expected a host name like api.internal or api.internal:8080, got '" + *host + "'");
      check.http_host = *host;
    }
  }
  if (auto e = http.get("expect")) {
    auto ranges = parse_expect(r, *e);
    if (!ranges.empty()) check.http_expect = std::move(ranges);
  }
}

}  // namespace

HealthCheck parse_health_check(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  HealthCheck check;
  if (auto f = map.get("http")) parse_http(r, *f, check);
  if (auto f = map.get("interval")) {
    if (auto d = r.duration(*f)) {
      // Shorter would be a probe storm, not a health check.
      if (*d < Duration(10)) r.error(*f, "must be at least 10ms");
      check.interval = *d;
    }
  }
  auto timeout = map.get("timeout");
  if (timeout)
    if (auto d = r.duration(*timeout)) check.timeout = *d;
  if (timeout && check.timeout > check.interval)
    r.error(*timeout, "must not be longer than interval");
  if (auto f = map.get("healthy"))
    if (auto n = r.integer(*f, 1, 100)) check.healthy = static_cast<int>(*n);
  if (auto f = map.get("unhealthy"))
    if (auto n = r.integer(*f, 1, 100)) check.unhealthy = static_cast<int>(*n);
  if (auto f = map.get("jitter"))
    if (auto n = percent(r, *f, 0, 50)) check.jitter_percent = *n;
  return check;
}

void parse_panic_and_slow_start(ParseState& state, MapReader& cluster_map, Cluster& cluster) {
  Reader& r = state.reader;
  if (auto f = cluster_map.get("panic_threshold"))
    if (auto n = percent(r, *f, 0, 100)) cluster.panic.threshold_percent = *n;
  if (auto f = cluster_map.get("panic"))
    if (auto index = r.choice(*f, {"route_all", "fail_closed"}))
      cluster.panic.mode = static_cast<Panic::Mode>(*index);
  if (auto f = cluster_map.get("slow_start")) {
    // 0 (or 0s) says "off" explicitly; otherwise a duration.
    auto text = f->value.IsScalar() ? f->value.Scalar() : std::string();
    if (text != "0" && text != "0s" && text != "0ms")
      if (auto d = r.duration(*f)) cluster.slow_start = *d;
  }
}

}  // namespace sluice::config
