#include "proxy/control/discovery/dns_source.hpp"

#include <ares.h>
#include <arpa/nameser.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "proxy/control/discovery/dns_answer.hpp"

namespace sluice::proxy::discovery {

using std::chrono::milliseconds;

struct DnsSource::Round {
  struct Target {
    std::string name;
    std::vector<std::string> v4, v6;
  };
  std::vector<SrvRecord> records;
  std::vector<Target> targets;  // each SRV target once
  size_t pending = 0;           // target questions still out
  uint32_t ttl = 0;             // smallest so far
  std::string error;            // the first target question that failed
};

namespace {

// "250 ms", "5 s", "1.2 s": for the version and the failure lines people read.
std::string human(milliseconds d) {
  char text[32];
  if (d.count() % 1000 == 0)
    std::snprintf(text, sizeof text, "%lld s", static_cast<long long>(d.count() / 1000));
  else if (d < milliseconds(1000))
    std::snprintf(text, sizeof text, "%lld ms", static_cast<long long>(d.count()));
  else
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return text;
}

int query_type(DnsSourceOptions::Type type) {
  switch (type) {
    case DnsSourceOptions::Type::aaaa:
      return ns_t_aaaa;
    case DnsSourceOptions::Type::srv:
      return ns_t_srv;
    case DnsSourceOptions::Type::a:
      break;
  }
  return ns_t_a;
}

}  // namespace

DnsSourceOptions DnsSourceOptions::from(const config::DnsDiscovery& dns) {
  DnsSourceOptions o;
  o.name = dns.name;
  o.type = dns.type == "SRV" ? Type::srv : dns.type == "AAAA" ? Type::aaaa : Type::a;
  o.port = dns.port;
  o.resolver.servers = dns.resolvers;
  o.resolver.timeout = dns.timeout;
  o.min_ttl = dns.min_ttl;
  o.max_ttl = dns.max_ttl;
  o.negative_ttl = dns.negative_ttl;
  return o;
}

DnsSource::DnsSource(control::ControlLoop& loop, DnsSourceOptions options, SourceSink& sink)
    : loop_(loop),
      options_(std::move(options)),
      sink_(sink),
      random_(std::random_device{}()),
      resolver_(loop, options_.resolver) {}

DnsSource::~DnsSource() {
  loop_.cancel(timer_);
}

void DnsSource::start() {
  resolve();
}

std::string DnsSource::type_name() const {
  switch (options_.type) {
    case DnsSourceOptions::Type::aaaa:
      return "AAAA";
    case DnsSourceOptions::Type::srv:
      return "SRV";
    case DnsSourceOptions::Type::a:
      break;
  }
  return "A";
}

std::string DnsSource::describe() const {
  std::string text = "dns " + type_name() + " " + options_.name;
  if (options_.type != DnsSourceOptions::Type::srv)
    text += " port " + std::to_string(options_.port);
  return text;
}

void DnsSource::resolve() {
  timer_ = 0;
  next_delay_ = milliseconds(0);
  if (!resolver_.ok()) return failed(resolver_.error());
  round_ = std::make_unique<Round>();
  resolver_.query(
      options_.name, query_type(options_.type),
      [this](int status, std::span<const unsigned char> answer) { on_records(status, answer); });
}

void DnsSource::on_records(int status, std::span<const unsigned char> answer) {
  if (status == ARES_ENOTFOUND) return deliver_empty("NXDOMAIN");
  if (status == ARES_ENODATA) return deliver_empty("NODATA");
  if (status != ARES_SUCCESS) return failed(ares_strerror(status));
  auto ttl = min_answer_ttl(answer);
  if (!ttl) return failed("malformed answer");
  round_->ttl = *ttl;
  if (options_.type == DnsSourceOptions::Type::srv) return on_srv(answer);
  std::string error;
  auto addresses = parse_addresses(answer, query_type(options_.type), &error);
  if (!error.empty()) return failed(error);
  if (addresses.empty()) return deliver_empty("NODATA");  // a CNAME to nothing
  std::vector<DiscoveredEndpoint> set;
  for (const auto& ip : addresses) set.push_back({endpoint_address(ip, options_.port), 1});
  deliver(std::move(set), *ttl);
}

void DnsSource::on_srv(std::span<const unsigned char> answer) {
  std::string error;
  round_->records = parse_srv(answer, &error);
  if (!error.empty()) return failed(error);
  if (round_->records.empty()) return deliver_empty("no SRV target");
  std::vector<std::string> names;
  for (const auto& r : round_->records)
    if (std::find(names.begin(), names.end(), r.target) == names.end()) names.push_back(r.target);
  for (const auto& name : names) round_->targets.push_back({name, {}, {}});
  round_->pending = 2 * names.size();
  Round* round = round_.get();
  for (size_t i = 0; i < names.size() && round_.get() == round; ++i) {
    for (int type : {ns_t_a, ns_t_aaaa}) {
      resolver_.query(names[i], type, [this, i, type](int status, auto answer) {
        on_target(i, type, status, answer);
      });
      if (round_.get() != round) break;  // answered at once, and the round is over
    }
  }
}

void DnsSource::on_target(size_t target, int type, int status,
                          std::span<const unsigned char> answer) {
  Round& round = *round_;
  auto& t = round.targets[target];
  const char* type_text = type == ns_t_a ? "A" : "AAAA";
  if (status == ARES_SUCCESS) {
    std::string error;
    (type == ns_t_a ? t.v4 : t.v6) = parse_addresses(answer, type, &error);
    round.ttl = std::min(round.ttl, min_answer_ttl(answer).value_or(0));
    if (!error.empty() && round.error.empty())
      round.error = "SRV target " + t.name + " " + type_text + ": " + error;
  } else if (status != ARES_ENOTFOUND && status != ARES_ENODATA && round.error.empty()) {
    round.error = "SRV target " + t.name + " " + type_text + ": " + ares_strerror(status);
  }
  if (--round.pending == 0) finish_srv();
}

void DnsSource::finish_srv() {
  if (!round_->error.empty()) return failed(round_->error);
  std::vector<DiscoveredEndpoint> set;
  for (const auto& record : round_->records) {
    const auto& target = *std::find_if(round_->targets.begin(), round_->targets.end(),
                                       [&](const auto& t) { return t.name == record.target; });
    // One family per target: a dual-stack host listed under both would get twice the share.
    const auto& ips = target.v4.empty() ? target.v6 : target.v4;
    const uint32_t weight = std::max<uint32_t>(1, record.weight);
    for (const auto& ip : ips) set.push_back({endpoint_address(ip, record.port), weight});
  }
  if (set.empty()) return deliver_empty("no address for any SRV target");
  deliver(std::move(set), round_->ttl);
}

void DnsSource::deliver(std::vector<DiscoveredEndpoint> set, uint32_t ttl) {
  canonicalize(set);
  const milliseconds given(int64_t{ttl} * 1000);
  const milliseconds delay = std::clamp(given, options_.min_ttl, options_.max_ttl);
  std::string version = "ttl " + human(given);
  if (delay != given) version += ", clamped to " + human(delay);
  failures_in_a_row_ = 0;
  round_.reset();
  schedule(delay);
  sink_.deliver(std::move(set), std::move(version));
}

void DnsSource::deliver_empty(const char* rcode) {
  failures_in_a_row_ = 0;
  round_.reset();
  schedule(options_.negative_ttl);
  sink_.deliver({}, std::string(rcode) + ", negative ttl " + human(options_.negative_ttl));
}

void DnsSource::failed(std::string why) {
  ++failures_in_a_row_;
  const int doublings = std::min(failures_in_a_row_ - 1, 30);
  const double base =
      std::min(static_cast<double>(options_.first_backoff.count()) * std::pow(2.0, doublings),
               static_cast<double>(options_.max_backoff.count()));
  std::uniform_real_distribution<double> factor(1.0 - options_.jitter, 1.0 + options_.jitter);
  const milliseconds delay(std::max<int64_t>(1, std::llround(base * factor(random_))));
  round_.reset();
  schedule(delay);
  sink_.fail(describe() + ": " + why + "; asking again in " + human(delay));
}

void DnsSource::schedule(milliseconds delay) {
  loop_.cancel(timer_);
  next_delay_ = delay;
  timer_ = loop_.after(delay, [this] { resolve(); });
}

}  // namespace sluice::proxy::discovery
