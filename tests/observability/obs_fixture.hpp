// The shape of an observability test: start backends, write a config with an
// admin listener, run the real sluice binary, drive known traffic through it,
// then read what sluice reports about it: the admin API (over a raw socket),
// the Prometheus exposition (parsed into a map of series to values) and the
// JSON access log (parsed with Boost.JSON). Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/support/backend_launcher.hpp"
#include "tests/support/process.hpp"
#include "tests/support/socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::testing {

// $SLUICE_TEST_BINARY if set, else the sluice this tree built.
std::string obs_sluice_binary();

// One admin response, read to the server's close (every admin response says
// Connection: close). status 0: no (parsable) response; `error` says why.
struct AdminReply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string raw;  // every byte received
  std::string error;

  std::optional<std::string> header(std::string_view name) const;  // case-insensitive
};

// Sends `method path` (with `body` and its Content-Length when non-empty) to
// the admin listener on 127.0.0.1:port and reads the answer until EOF. A HEAD
// answer keeps everything after the head in `body` (it must be empty). Sends
// what curl would (Host: 127.0.0.1:port) and, for any method but GET and HEAD,
// X-Sluice-Admin: 1, as the admin requires.
AdminReply admin_request(uint16_t port, std::string_view method, std::string_view path,
                         std::string_view body = {}, Millis timeout = Millis(5000));
// The same with the request's bytes as given (to send another Host, an Origin, ...).
AdminReply admin_exchange(uint16_t port, std::string_view raw_request,
                          Millis timeout = Millis(5000));

// "name{b=\"2\",a=\"1\"}" -> "name{a=\"1\",b=\"2\"}": series keys with labels in
// name order, so a test may write them in any order. "" when unparsable.
std::string canonical_series(std::string_view series);

// A parsed Prometheus text exposition: canonical series -> value. `_bucket`,
// `_count` and `_sum` of histograms are series of their own.
struct MetricSet {
  std::map<std::string, double> values;
  std::string error;  // the first malformed line, when there was one

  bool has(std::string_view series) const;
  // NaN when absent.
  double get(std::string_view series) const;
  // Sum of every series of `name` whose labels include all of `labels`
  // (e.g. {{"listener", "web"}}); 0 when none.
  double sum(std::string_view name,
             const std::vector<std::pair<std::string, std::string>>& labels = {}) const;
  // Every series of `name` (keys as in `values`).
  std::vector<std::string> series_of(std::string_view name) const;
};
MetricSet parse_metrics(std::string_view text);

// The hex SHA-256 of `bytes` (what /config's source_hash must be).
std::string sha256_hex(std::string_view bytes);

// Access log lines, one JSON object each. A line that is not a JSON object
// sets *error (and is skipped).
std::vector<boost::json::object> parse_access_log(std::string_view text, std::string* error);
// A string field of an access log line ("<absent>" / "<null>" / "<not a string>").
std::string field(const boost::json::object& line, std::string_view key);
// An integer field; -1 when absent or not an integer.
int64_t int_field(const boost::json::object& line, std::string_view key);

// The local "127.0.0.1:PORT" of a connected socket: the `client` of its log lines.
std::string local_address(const Socket& s);

class ObsTest : public ::testing::Test {
 protected:
  ObsTest();
  // Stops sluice with SIGTERM unless it already exited, expects exit status 0,
  // and keeps the temp dir (saying where) when the test failed.
  void TearDown() override;

  // A sluice-test-backend ("http": answers "backend NAME\n"; /sleep?ms=N).
  Backend& add_backend(const std::string& name, const std::string& mode = "http");

  // The admin listener's port, picked on first use: after the test's backends
  // took their ephemeral ports, so none of them can land on it.
  uint16_t admin_port();
  // "admin: { listen: 127.0.0.1:<admin_port()> }\n": the admin section of every config.
  std::string admin_yaml();
  // Writes `yaml` to config_path_ (also how a test edits the file before a reload).
  void write_config(const std::string& yaml);
  // Writes the config, runs `sluice --config`, and waits until GET /ready says
  // 200 (no probe connection touches a proxied listener, so counters start at
  // zero). Adds a failure and returns false when sluice does not come up.
  // Runs before the binary when set: argv[0..] then the binary and its options (a shell that
  // changes signal dispositions, say).
  std::vector<std::string> launcher_;
  bool start_sluice(const std::string& yaml);
  Process& sluice() { return *sluice_; }

  AdminReply admin(std::string_view method, std::string_view path, std::string_view body = {});
  // One GET /metrics, parsed; adds a failure when it is not a 200 or does not parse.
  MetricSet scrape();
  // The same without expectations (for polling loops); error says what went wrong.
  MetricSet scrape_quiet();
  // Polls /metrics until `series` has `expected` (counters are per-worker slots
  // summed at scrape, so the last increment may land a moment after the client
  // saw its response). Returns the last value seen (NaN: absent), so a test
  // writes EXPECT_EQ(wait_metric(s, 7), 7).
  double wait_metric(const std::string& series, double expected, Millis timeout = Millis(5000));
  // The same for MetricSet::sum(name, labels).
  double wait_sum(std::string_view name,
                  const std::vector<std::pair<std::string, std::string>>& labels, double expected,
                  Millis timeout = Millis(5000));
  // Scrapes until `read` gives `expected`, the timeout passes or sluice exits; the last value.
  double wait_value(const std::function<double(const MetricSet&)>& read, double expected,
                    Millis timeout);

  // Polls the access log file until it holds at least `n` lines; returns what
  // it holds then (parse errors are test failures).
  std::vector<boost::json::object> wait_log_lines(const std::string& path, size_t n,
                                                  Millis timeout = Millis(5000));

  // A fresh client connection to a proxied listener.
  HttpClient connect_http(uint16_t port);
  // One request on `client`; a failure (and status 0) when no response came.
  Response roundtrip(HttpClient& client, std::string_view raw_request, bool head = false);
  // One request on a fresh connection.
  Response fetch_once(uint16_t port, std::string_view raw_request);

  // Runs /usr/bin/promtool check metrics on `text`; its exit code, output in *output.
  int promtool_check(const std::string& text, std::string* output);

  TempDir dir_;
  uint16_t admin_port_ = 0;
  std::string config_path_;
  std::deque<Backend> backends_;  // deque: references stay valid as it grows
  std::optional<Process> sluice_;
};

// Polls connects to 127.0.0.1:port until one is refused; false if it kept
// accepting for `timeout`.
bool wait_refused(uint16_t port, Millis timeout);

}  // namespace sluice::testing
