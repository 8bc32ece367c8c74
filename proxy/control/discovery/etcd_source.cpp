#include "proxy/control/discovery/etcd_source.hpp"

#include <algorithm>
#include <set>

#include "proxy/control/discovery/endpoint_value.hpp"

namespace sluice::proxy::discovery {
namespace {

using std::chrono::milliseconds;
using Clock = control::ControlLoop::Clock;

constexpr size_t kMaxBody = 64 << 20;  // a list answer or one watch line; beyond: an error

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

EtcdOptions EtcdOptions::from(const config::EtcdDiscovery& config) {
  EtcdOptions o;
  o.endpoints = config.endpoints;
  o.prefix = config.prefix;
  o.timeout = config.timeout;
  o.watchdog = config.watchdog;
  return o;
}

EtcdSource::EtcdSource(control::ControlLoop& loop, SourceSink& sink, EtcdOptions options)
    : loop_(loop),
      sink_(sink),
      options_(std::move(options)),
      main_(loop),
      probe_(loop),
      backoff_(options_.retry_initial, options_.retry_max) {}

EtcdSource::~EtcdSource() {
  loop_.cancel(retry_timer_);
  loop_.cancel(watchdog_timer_);
}

std::string EtcdSource::describe() const {
  std::string out = "etcd " + options_.prefix + " at ";
  for (size_t i = 0; i < options_.endpoints.size(); ++i)
    out += (i ? "," : "") + options_.endpoints[i].text;
  return out;
}

void EtcdSource::start() {
  last_heard_ = loop_.now();
  // A quarter of silence earns a probe (limited to half the watchdog), so a dead server is
  // noticed within the watchdog: at most a quarter to see it, a quarter to the tick, a half
  // for the probe.
  const milliseconds tick = std::max(options_.watchdog / 4, milliseconds(1));
  watchdog_timer_ = loop_.every(tick, [this] { on_watchdog(); });
  list();
}

HttpRequest EtcdSource::post(std::string target, std::string body) const {
  HttpRequest request;
  request.method = "POST";
  request.target = std::move(target);
  request.body = std::move(body);
  request.timeout = options_.timeout;
  return request;
}

void EtcdSource::note_status(const HttpHead& head) {
  if (head.status != 200) status_error_ = "HTTP " + std::to_string(head.status);
}

void EtcdSource::list() {
  watching_ = false;
  body_.clear();
  status_error_.clear();
  HttpRequest request = post("/v3/kv/range", etcd::range_request(options_.prefix));
  request.complete_within = options_.timeout * 4;
  HttpHandlers handlers;
  handlers.head = [this](const HttpHead& head) { note_status(head); };
  handlers.body = [this](std::string_view piece) {
    if (body_.size() + piece.size() > kMaxBody)
      return retry("the list of " + options_.prefix + " exceeds 64 MiB", true);
    body_.append(piece);
  };
  handlers.done = [this] { on_list_done(); };
  handlers.error = [this](std::string why) { retry("list: " + why, true); };
  main_.start(endpoint(), std::move(request), std::move(handlers));
}

void EtcdSource::on_list_done() {
  if (!status_error_.empty()) return retry("list: " + status_error_ + " " + snippet(body_), true);
  etcd::RangeAnswer answer = etcd::parse_range_answer(body_);
  body_.clear();
  if (!answer.error.empty()) return retry("list: " + answer.error, true);
  keys_.clear();
  for (const auto& kv : answer.kvs) put(kv);
  revision_ = answer.revision;
  ++counters_.lists;
  last_heard_ = loop_.now();
  backoff_.reset();
  deliver();
  watch();
}

void EtcdSource::watch() {
  watching_ = false;
  body_.clear();
  status_error_.clear();
  HttpHandlers handlers;
  handlers.head = [this](const HttpHead& head) { note_status(head); };
  handlers.body = [this](std::string_view piece) { on_watch_body(piece); };
  handlers.done = [this] {
    if (!status_error_.empty())
      return retry("watch: " + status_error_ + " " + snippet(body_), true);
    retry("watch: the server ended it", !watching_);
  };
  // A confirmed watch that breaks gets one quick reconnect before the cluster is stale.
  handlers.error = [this](std::string why) { retry("watch: " + why, !watching_); };
  main_.start(endpoint(), post("/v3/watch", etcd::watch_request(options_.prefix, revision_ + 1)),
              std::move(handlers));
}

void EtcdSource::on_watch_body(std::string_view piece) {
  last_heard_ = loop_.now();
  if (body_.size() + piece.size() > kMaxBody) return retry("watch: a line of over 64 MiB", true);
  body_.append(piece);
  if (!status_error_.empty()) return;  // kept for the error message when the answer ends
  bool changed = false;
  size_t begin = 0;
  for (size_t end; (end = body_.find('\n', begin)) != std::string::npos; begin = end + 1) {
    const std::string_view line(body_.data() + begin, end - begin);
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    // A line that ends the watch (compaction, an error) closed the stream: body_ is gone.
    if (!on_watch_line(line, changed)) return;
  }
  body_.erase(0, begin);
  if (changed) deliver();
}

bool EtcdSource::on_watch_line(std::string_view line, bool& changed) {
  using Kind = etcd::WatchMessage::Kind;
  etcd::WatchMessage m = etcd::parse_watch_line(line);
  switch (m.kind) {
    case Kind::created:
      watching_ = true;
      ++counters_.watches;
      backoff_.reset();
      // After a failure the cluster is stale until the source speaks again: say the set
      // still stands, now that the watch proves it is current.
      if (failed_ || !delivered_) changed = true;
      return true;
    case Kind::events:
      for (const auto& event : m.events) {
        if (event.put) {
          put(event.kv);
        } else {
          remove(event.kv.key);
        }
        revision_ = std::max(revision_, event.kv.mod_revision);
      }
      changed = true;
      return true;
    case Kind::progress:
      revision_ = std::max(revision_, m.revision);
      return true;
    case Kind::compacted:
      ++counters_.compactions;
      main_.close();
      list();  // the revision to resume from is gone: only a full list can say the set
      return false;
    case Kind::canceled:
      retry("etcd canceled the watch: " + (m.error.empty() ? "no reason given" : m.error), true);
      return false;
    case Kind::error:
      retry("watch: " + m.error, true);
      return false;
  }
  return true;
}

void EtcdSource::put(const etcd::KeyValue& kv) {
  EndpointValue value = parse_endpoint_value(kv.value);
  if (value.endpoint) {
    keys_[kv.key] = std::move(*value.endpoint);
    warned_.erase(kv.key);
    return;
  }
  keys_.erase(kv.key);
  // Said once per value: the same bad value seen again by a re-list stays quiet.
  auto [at, fresh] = warned_.try_emplace(kv.key, kv.mod_revision);
  if (!fresh && at->second == kv.mod_revision) return;
  at->second = kv.mod_revision;
  if (options_.warn)
    options_.warn("etcd key " + kv.key + " (revision " + std::to_string(kv.mod_revision) +
                  ") is not an endpoint and is skipped: " + value.error);
}

void EtcdSource::remove(const std::string& key) {
  keys_.erase(key);
  warned_.erase(key);
}

void EtcdSource::deliver() {
  std::vector<DiscoveredEndpoint> set;
  std::set<std::string> seen;
  for (const auto& [key, endpoint] : keys_)  // two keys, one address: the first key's weight
    if (seen.insert(endpoint.address).second) set.push_back(endpoint);
  failed_ = false;
  delivered_ = true;
  sink_.deliver(std::move(set), "revision " + std::to_string(revision_));
}

void EtcdSource::on_watchdog() {
  if (!watching_ || !main_.active()) return;  // lists and reconnects have their own timeouts
  const auto silent = loop_.now() - last_heard_;
  if (silent >= options_.watchdog)
    return retry("no answer from " + endpoint().text + " for " +
                     std::to_string(options_.watchdog.count()) + " ms (watchdog)",
                 true);
  if (silent >= options_.watchdog / 4 && !probe_.active()) probe();
}

void EtcdSource::probe() {
  ++counters_.probes;
  const milliseconds limit = std::min(options_.timeout, options_.watchdog / 2);
  HttpRequest request = post("/v3/kv/range", etcd::probe_request(options_.prefix));
  request.timeout = request.complete_within = limit;
  auto status = std::make_shared<unsigned>(0);
  HttpHandlers handlers;
  handlers.head = [status](const HttpHead& head) { *status = head.status; };
  handlers.done = [this, status] {
    if (*status != 200) return retry("liveness probe: HTTP " + std::to_string(*status), true);
    last_heard_ = loop_.now();
  };
  handlers.error = [this](std::string why) { retry("liveness probe: " + why, true); };
  probe_.start(endpoint(), std::move(request), std::move(handlers));
}

void EtcdSource::retry(std::string why, bool report_at_once) {
  main_.close();
  probe_.close();
  watching_ = false;
  const std::string where = endpoint().text;
  current_ = (current_ + 1) % options_.endpoints.size();
  // A watch that breaks after working (an etcd restart, a proxy's idle timeout) gets one
  // reconnect before the cluster is called stale; the reconnect failing says it. At most one
  // per watchdog period, so a server that keeps dropping watches gets the back-off.
  const auto now = loop_.now();
  if (!report_at_once &&
      (last_quick_retry_ == Clock::time_point() || now - last_quick_retry_ >= options_.watchdog)) {
    last_quick_retry_ = now;
    return schedule(milliseconds(0));
  }
  ++counters_.failures;
  failed_ = true;
  sink_.fail("etcd " + where + ": " + why);
  schedule(backoff_.next());
}

void EtcdSource::schedule(milliseconds delay) {
  loop_.cancel(retry_timer_);
  retry_timer_ = loop_.after(delay, [this] {
    retry_timer_ = 0;
    // Resume from the last applied revision when there is one: no full list needed.
    if (revision_ > 0) {
      watch();
    } else {
      list();
    }
  });
}

}  // namespace sluice::proxy::discovery
