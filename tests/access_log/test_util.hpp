// Helpers shared by the access log tests. Test thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "proxy/access_log/record.hpp"

namespace sluice::access_log::testing {

// An HTTP record with every field set to a recognizable value; `seq` goes into
// request_id ("req-<seq>") and bytes_sent, so lines can be matched to pushes.
inline AccessRecord http_record(uint64_t seq) {
  AccessRecord r;
  r.kind = Kind::http;
  r.start_unix_ns = 1714566896789123456;  // 2024-05-01T12:34:56.789Z
  r.duration_ns = 1'234'567;
  r.upstream_duration_ns = 800'000;
  r.bytes_received = 321;
  r.bytes_sent = seq;
  r.status = 200;
  r.upstream_status = 200;
  r.http_version = 11;
  r.rate_limit = LimitOutcome::admitted;
  r.breaker = BreakerOutcome::allowed;
  set(r.client, "10.0.0.1:5555");
  set(r.listener, "web");
  set(r.route, "api");
  set(r.cluster, "backend");
  set(r.endpoint, "10.0.0.2:8080");
  set(r.method, "GET");
  set(r.path, "/v1/items?id=7");
  set(r.request_id, "req-" + std::to_string(seq));
  set(r.host, "api.example");
  set(r.user_agent, "curl/7.88.1");
  set(r.error, "");
  return r;
}

inline AccessRecord tcp_record(uint64_t seq) {
  AccessRecord r = http_record(seq);
  r.kind = Kind::tcp;
  r.status = 0;
  r.upstream_status = 0;
  r.http_version = 0;
  r.upstream_duration_ns = -1;
  r.rate_limit = LimitOutcome::none;
  r.breaker = BreakerOutcome::none;
  set(r.route, "");
  set(r.method, "");
  set(r.path, "");
  set(r.request_id, "");
  set(r.host, "");
  set(r.user_agent, "");
  return r;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  if (start != text.size()) lines.push_back(text.substr(start));  // an unterminated tail
  return lines;
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace sluice::access_log::testing
