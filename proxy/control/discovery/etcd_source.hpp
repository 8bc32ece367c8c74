// The etcd discovery source: every key under a prefix is one endpoint (its value: see
// endpoint_value.hpp), read through etcd v3's JSON gateway. It lists the prefix at revision
// R, delivers the set, and watches from R + 1; each batch of watch events read together is
// applied, then delivered once. A broken watch resumes from the last applied revision + 1
// without listing again; only a compacted start revision makes it list again (once). A watch
// that stays silent for a quarter of the watchdog gets a liveness probe (a count-only range
// on another connection; etcd's own progress notifications come every 10 minutes by
// default); no answer within the watchdog and the sink hears fail(). Failures
// retry with jittered back-off, each on the next configured endpoint.
// Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/discovery/etcd_codec.hpp"
#include "proxy/control/discovery/http_stream.hpp"
#include "proxy/control/discovery/retry_backoff.hpp"
#include "proxy/control/discovery/source.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

struct EtcdOptions {
  std::vector<config::Address> endpoints;  // at least one
  std::string prefix;
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds watchdog{10000};
  std::chrono::milliseconds retry_initial{250};
  std::chrono::milliseconds retry_max{10000};
  // One line per key whose value is not an endpoint (said once per value, not per delivery).
  std::function<void(const std::string&)> warn;

  static EtcdOptions from(const config::EtcdDiscovery& config);
};

class EtcdSource : public Source {
 public:
  // `loop` and `sink` must outlive the source.
  EtcdSource(control::ControlLoop& loop, SourceSink& sink, EtcdOptions options);
  ~EtcdSource() override;

  void start() override;
  const char* kind() const override { return "etcd"; }
  std::string describe() const override;

  // What happened so far, for tests and /clusters.
  struct Counters {
    uint64_t lists = 0;        // successful full lists of the prefix
    uint64_t watches = 0;      // watches the server confirmed (created)
    uint64_t compactions = 0;  // watches refused because their revision was compacted
    uint64_t probes = 0;       // liveness probes sent
    uint64_t failures = 0;     // fail() calls
  };
  const Counters& counters() const { return counters_; }
  int64_t revision() const { return revision_; }  // last applied; 0 before the first list

 private:
  HttpRequest post(std::string target, std::string body) const;
  void note_status(const HttpHead& head);  // a status other than 200 makes the answer an error
  void list();
  void on_list_done();
  void watch();
  void on_watch_body(std::string_view piece);
  // One line of the watch; false when the watch ended (compaction, error).
  bool on_watch_line(std::string_view line, bool& changed);
  void on_watchdog();
  void probe();
  void put(const etcd::KeyValue& kv);
  void remove(const std::string& key);
  void deliver();
  // A request failed: report (unless a quick reconnect may still save it) and retry later.
  void retry(std::string why, bool report_at_once);
  void schedule(std::chrono::milliseconds delay);
  const config::Address& endpoint() const { return options_.endpoints[current_]; }

  control::ControlLoop& loop_;
  SourceSink& sink_;
  EtcdOptions options_;
  HttpStream main_;   // the list, then the watch
  HttpStream probe_;  // liveness probes while watching
  RetryBackoff backoff_;
  size_t current_ = 0;  // index into options_.endpoints

  // The prefix's keys whose values are endpoints, as last listed or watched.
  std::map<std::string, DiscoveredEndpoint> keys_;
  std::map<std::string, int64_t> warned_;  // bad keys already reported, at their revision
  int64_t revision_ = 0;
  bool watching_ = false;   // the server confirmed the watch
  bool failed_ = false;     // fail() was said since the last deliver
  bool delivered_ = false;  // the current keys_ were delivered
  std::string body_;        // the list's answer, or the watch's partial line
  std::string status_error_;
  control::ControlLoop::Clock::time_point last_heard_;
  control::ControlLoop::Clock::time_point last_quick_retry_;  // a reconnect without fail()
  control::ControlLoop::TimerId retry_timer_ = 0;
  control::ControlLoop::TimerId watchdog_timer_ = 0;
  Counters counters_;
};

}  // namespace sluice::proxy::discovery
