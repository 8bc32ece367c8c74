#include "proxy/control/discovery/consul_source.hpp"

#include <algorithm>

namespace sluice::proxy::discovery {
namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxBody = 64 << 20;

}  // namespace

ConsulOptions ConsulOptions::from(const config::ConsulDiscovery& config) {
  ConsulOptions o;
  o.address = config.address;
  o.query = {config.service, config.tag, config.datacenter};
  o.wait = config.wait;
  o.timeout = config.timeout;
  return o;
}

ConsulSource::ConsulSource(control::ControlLoop& loop, SourceSink& sink, ConsulOptions options)
    : loop_(loop),
      sink_(sink),
      options_(std::move(options)),
      stream_(loop),
      backoff_(options_.retry_initial, options_.retry_max) {}

ConsulSource::~ConsulSource() {
  loop_.cancel(timer_);
}

std::string ConsulSource::describe() const {
  std::string out = "consul service " + options_.query.service;
  if (!options_.query.tag.empty()) out += " tag " + options_.query.tag;
  if (!options_.query.datacenter.empty()) out += " in " + options_.query.datacenter;
  return out + " at " + options_.address.text;
}

void ConsulSource::start() {
  query();
}

void ConsulSource::query() {
  status_ = 0;
  index_header_.clear();
  body_.clear();
  started_ = loop_.now();
  // After a failure the cluster is stale: ask without blocking, so the answer that ends the
  // staleness comes now rather than with the next change or the end of the wait.
  const uint64_t index = failed_ ? 0 : index_;
  HttpRequest request;
  request.target = consul::health_target(options_.query, index, options_.wait);
  // Consul answers a blocking query only when it wakes, after at most wait plus up to
  // wait/16 of its own jitter.
  const milliseconds wait = index > 0 ? options_.wait + options_.wait / 16 : milliseconds(0);
  request.timeout = request.complete_within = wait + options_.timeout;
  HttpHandlers handlers;
  handlers.head = [this](const HttpHead& head) {
    status_ = head.status;
    index_header_ = head.field("X-Consul-Index");
  };
  handlers.body = [this](std::string_view piece) {
    if (body_.size() + piece.size() > kMaxBody) return failed("the answer exceeds 64 MiB");
    body_.append(piece);
  };
  handlers.done = [this] { on_answer(); };
  handlers.error = [this](std::string why) { failed(std::move(why)); };
  stream_.start(options_.address, std::move(request), std::move(handlers));
}

void ConsulSource::on_answer() {
  if (status_ != 200) return failed("HTTP " + std::to_string(status_) + " " + body_.substr(0, 200));
  consul::HealthAnswer answer = consul::parse_health_answer(body_);
  body_.clear();
  if (!answer.error.empty()) return failed(answer.error);
  ++counters_.queries;
  backoff_.reset();
  const uint64_t next = consul::next_index(index_, index_header_);
  if (next == 0) ++counters_.index_resets;
  const bool changed = !delivered_ || failed_ || answer.endpoints != last_;
  index_ = next;
  if (answer.skipped != last_skipped_ && !answer.skipped.empty() && options_.warn) {
    std::string line = describe() + ": skipped ";
    for (size_t i = 0; i < answer.skipped.size(); ++i) line += (i ? "; " : "") + answer.skipped[i];
    options_.warn(line);
  }
  last_skipped_ = std::move(answer.skipped);
  if (changed) {
    last_ = answer.endpoints;
    failed_ = false;
    delivered_ = true;
    sink_.deliver(std::move(answer.endpoints),
                  "index " + (index_header_.empty() ? std::string("none") : index_header_));
  }
  // Rate limit: an answer that came back at once (a reset index, writes elsewhere in Consul
  // waking the query) waits out the rest of min_interval before the next query.
  const auto elapsed = std::chrono::duration_cast<milliseconds>(loop_.now() - started_);
  schedule(std::max(options_.min_interval - elapsed, milliseconds(0)));
}

void ConsulSource::failed(std::string why) {
  stream_.close();
  ++counters_.failures;
  failed_ = true;
  sink_.fail(describe() + ": " + why);
  schedule(backoff_.next());
}

void ConsulSource::schedule(milliseconds delay) {
  loop_.cancel(timer_);
  timer_ = loop_.after(delay, [this] {
    timer_ = 0;
    query();
  });
}

}  // namespace sluice::proxy::discovery
