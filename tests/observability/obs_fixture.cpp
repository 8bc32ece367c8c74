#include "tests/observability/obs_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>

#include "tests/http_integration/text.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Splits `name{labels}` into the name and its (name, value) pairs; false when malformed.
bool split_series(std::string_view s, std::string& name,
                  std::vector<std::pair<std::string, std::string>>& labels) {
  const size_t brace = s.find('{');
  name = std::string(s.substr(0, brace));
  if (name.empty()) return false;
  if (brace == std::string_view::npos) return true;
  if (s.back() != '}') return false;
  size_t i = brace + 1;
  const size_t end = s.size() - 1;
  while (i < end) {
    const size_t eq = s.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= end || s[eq + 1] != '"') return false;
    std::string key(trim(s.substr(i, eq - i)));
    std::string value;
    size_t j = eq + 2;
    for (; j < end && s[j] != '"'; ++j) {
      if (s[j] == '\\' && j + 1 < end) {
        ++j;
        value += s[j] == 'n' ? '\n' : s[j];
      } else {
        value += s[j];
      }
    }
    if (j >= end) return false;
    labels.emplace_back(std::move(key), std::move(value));
    i = j + 1;
    if (i < end && s[i] == ',') ++i;
  }
  return true;
}

std::string join_series(const std::string& name,
                        std::vector<std::pair<std::string, std::string>> labels) {
  if (labels.empty()) return name;
  std::sort(labels.begin(), labels.end());
  std::string out = name + "{";
  for (size_t k = 0; k < labels.size(); ++k) {
    if (k > 0) out += ",";
    out += labels[k].first + "=\"";
    for (char c : labels[k].second) {
      if (c == '"' || c == '\\') out += '\\';
      out += c == '\n' ? std::string("\\n") : std::string(1, c);
    }
    out += "\"";
  }
  return out + "}";
}

}  // namespace

std::string obs_sluice_binary() {
  const char* env = std::getenv("SLUICE_TEST_BINARY");
  return env != nullptr && *env != '\0' ? env : SLUICE_BINARY_PATH;
}

// ---------------------------------------------------------------- admin client

std::optional<std::string> AdminReply::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [n, v] : headers)
    if (lower(n) == want) return v;
  return std::nullopt;
}

AdminReply admin_request(uint16_t port, std::string_view method, std::string_view path,
                         std::string_view body, Millis timeout) {
  std::string out;
  // What curl sends: the Host it connected to, and the header the admin wants on every request
  // that changes something (POST /reload, /drain).
  out.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1:");
  out += std::to_string(port) + "\r\n";
  if (method != "GET" && method != "HEAD") out += "X-Sluice-Admin: 1\r\n";
  if (!body.empty() || method == "POST")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out.append(body);
  return admin_exchange(port, out, timeout);
}

AdminReply admin_exchange(uint16_t port, std::string_view out, Millis timeout) {
  AdminReply reply;
  Socket s = connect_loopback(port, timeout, &reply.error);
  if (!s.valid()) return reply;
  if (!send_all(s, out, timeout)) {
    reply.error = "send failed";
    return reply;
  }
  ReceiveResult got = recv_until_eof(s, timeout);
  reply.raw = std::move(got.data);
  if (got.end != StreamEnd::eof) {
    reply.error = std::string("the admin connection did not end with EOF: ") + to_string(got.end);
    return reply;
  }
  const size_t head_end = reply.raw.find("\r\n\r\n");
  if (head_end == std::string::npos || !reply.raw.starts_with("HTTP/1.1 ")) {
    reply.error = "no response head in: " + reply.raw.substr(0, 200);
    return reply;
  }
  size_t pos = reply.raw.find("\r\n") + 2;
  while (pos < head_end + 2) {
    const size_t eol = reply.raw.find("\r\n", pos);
    std::string_view line(reply.raw.data() + pos, eol - pos);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos)
      reply.headers.emplace_back(std::string(line.substr(0, colon)),
                                 std::string(trim(line.substr(colon + 1))));
    pos = eol + 2;
  }
  reply.body = reply.raw.substr(head_end + 4);
  reply.status = std::atoi(reply.raw.c_str() + 9);
  return reply;
}

// ---------------------------------------------------------------- metrics

std::string canonical_series(std::string_view series) {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  if (!split_series(trim(series), name, labels)) return "";
  return join_series(name, std::move(labels));
}

bool MetricSet::has(std::string_view series) const {
  return values.contains(canonical_series(series));
}

double MetricSet::get(std::string_view series) const {
  auto it = values.find(canonical_series(series));
  return it == values.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
}

double MetricSet::sum(std::string_view name,
                      const std::vector<std::pair<std::string, std::string>>& want) const {
  double total = 0;
  for (const auto& [key, value] : values) {
    std::string n;
    std::vector<std::pair<std::string, std::string>> labels;
    if (!split_series(key, n, labels) || n != name) continue;
    bool all = true;
    for (const auto& w : want)
      all = all && std::find(labels.begin(), labels.end(), w) != labels.end();
    if (all) total += value;
  }
  return total;
}

std::vector<std::string> MetricSet::series_of(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : values) {
    const std::string_view k = key;
    if (k.starts_with(name) && (k.size() == name.size() || k[name.size()] == '{'))
      out.push_back(key);
  }
  return out;
}

MetricSet parse_metrics(std::string_view text) {
  MetricSet set;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty() || line.front() == '#') continue;
    // The value follows the last space (label values here never hold one after a '}').
    const size_t brace = line.rfind('}');
    const size_t space = line.find(' ', brace == std::string_view::npos ? 0 : brace);
    std::string key =
        space == std::string_view::npos ? "" : canonical_series(line.substr(0, space));
    if (key.empty()) {
      if (set.error.empty()) set.error = "malformed line: " + std::string(line);
      continue;
    }
    const std::string value(trim(line.substr(space + 1)));
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0') {
      if (set.error.empty()) set.error = "malformed value: " + std::string(line);
      continue;
    }
    if (!set.values.emplace(key, v).second && set.error.empty())
      set.error = "duplicate series: " + key;
  }
  return set;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

// ---------------------------------------------------------------- access log

std::vector<boost::json::object> parse_access_log(std::string_view text, std::string* error) {
  std::vector<boost::json::object> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) {
      // A line still being written: not yet a line.
      break;
    }
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    boost::system::error_code ec;
    boost::json::value v =
        boost::json::parse(boost::json::string_view(line.data(), line.size()), ec);
    if (ec || !v.is_object()) {
      if (error && error->empty()) *error = "not a JSON object: " + std::string(line);
      continue;
    }
    lines.push_back(std::move(v.as_object()));
  }
  return lines;
}

std::string field(const boost::json::object& line, std::string_view key) {
  const boost::json::value* v = line.if_contains(boost::json::string_view(key.data(), key.size()));
  if (v == nullptr) return "<absent>";
  if (v->is_null()) return "<null>";
  if (!v->is_string()) return "<not a string>";
  return std::string(v->as_string());
}

int64_t int_field(const boost::json::object& line, std::string_view key) {
  const boost::json::value* v = line.if_contains(boost::json::string_view(key.data(), key.size()));
  if (v == nullptr) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return -1;
}

std::string local_address(const Socket& s) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&a), &len) != 0) return "";
  char ip[INET_ADDRSTRLEN] = "";
  ::inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

bool wait_refused(uint16_t port, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!connect_loopback(port, Millis(200)).valid()) return true;
    std::this_thread::sleep_for(Millis(10));
  }
  return false;
}

// ---------------------------------------------------------------- fixture

ObsTest::ObsTest() : dir_("obs") {
  config_path_ = dir_.file("sluice.yaml");
}

void ObsTest::TearDown() {
  if (sluice_ && sluice_->pid() > 0) {
    ExitStatus st = sluice_->stop(Millis(10000));
    EXPECT_TRUE(st.success()) << "sluice did not exit cleanly: " << st.to_string() << "\n"
                              << sluice_->describe();
  }
  if (HasFailure()) {
    dir_.keep();
    std::printf("[ kept ] configs and logs in %s\n", dir_.path().c_str());
  }
}

Backend& ObsTest::add_backend(const std::string& name, const std::string& mode) {
  backends_.push_back(start_backend(dir_, {.mode = mode, .name = name}));
  return backends_.back();
}

uint16_t ObsTest::admin_port() {
  if (admin_port_ == 0) admin_port_ = free_loopback_port();
  return admin_port_;
}

std::string ObsTest::admin_yaml() {
  return "admin: { listen: 127.0.0.1:" + std::to_string(admin_port()) + " }\n";
}

void ObsTest::write_config(const std::string& yaml) {
  dir_.write("sluice.yaml", yaml);
}

bool ObsTest::start_sluice(const std::string& yaml) {
  write_config(yaml);
  std::vector<std::string> argv = launcher_;
  argv.insert(argv.end(), {obs_sluice_binary(), "--config", config_path_});
  sluice_ = Process::spawn(argv, dir_.path(), "sluice");
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  std::string last;
  while (Clock::now() < deadline && sluice_->running()) {
    AdminReply r = admin_request(admin_port(), "GET", "/ready", {}, Millis(500));
    if (r.status == 200) return true;
    last = r.status != 0 ? std::to_string(r.status) + " " + r.body : r.error;
    std::this_thread::sleep_for(Millis(10));
  }
  ADD_FAILURE() << "sluice is not ready on admin port " << admin_port_ << " (last: " << last << ", "
                << (sluice_->running() ? "still running" : "exited") << ")\nconfig:\n"
                << yaml << sluice_->describe();
  return false;
}

AdminReply ObsTest::admin(std::string_view method, std::string_view path, std::string_view body) {
  return admin_request(admin_port(), method, path, body);
}

MetricSet ObsTest::scrape() {
  AdminReply r = admin("GET", "/metrics");
  EXPECT_EQ(r.status, 200) << r.error << r.raw.substr(0, 300);
  MetricSet set = parse_metrics(r.body);
  EXPECT_EQ(set.error, "");
  return set;
}

MetricSet ObsTest::scrape_quiet() {
  AdminReply r = admin("GET", "/metrics");
  if (r.status != 200) {
    MetricSet empty;
    empty.error = "GET /metrics: " + std::to_string(r.status) + " " + r.error;
    return empty;
  }
  return parse_metrics(r.body);
}

double ObsTest::wait_value(const std::function<double(const MetricSet&)>& read, double expected,
                           Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const double last = read(scrape_quiet());
    if (last == expected || Clock::now() >= deadline || !sluice_->running()) return last;
    std::this_thread::sleep_for(Millis(10));
  }
}

double ObsTest::wait_metric(const std::string& series, double expected, Millis timeout) {
  return wait_value([&](const MetricSet& m) { return m.get(series); }, expected, timeout);
}

double ObsTest::wait_sum(std::string_view name,
                         const std::vector<std::pair<std::string, std::string>>& labels,
                         double expected, Millis timeout) {
  return wait_value([&](const MetricSet& m) { return m.sum(name, labels); }, expected, timeout);
}

std::vector<boost::json::object> ObsTest::wait_log_lines(const std::string& path, size_t n,
                                                         Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string error;
    auto lines = parse_access_log(read_file(path), &error);
    if (lines.size() >= n || Clock::now() >= deadline || !error.empty()) {
      EXPECT_EQ(error, "") << path;
      return lines;
    }
    std::this_thread::sleep_for(Millis(10));
  }
}

HttpClient ObsTest::connect_http(uint16_t port) {
  std::string error;
  Socket s = connect_loopback(port, Millis(5000), &error);
  EXPECT_TRUE(s.valid()) << "connect to port " << port << ": " << error;
  return HttpClient(std::move(s));
}

Response ObsTest::roundtrip(HttpClient& client, std::string_view raw_request, bool head) {
  if (!client.valid() || !client.send(raw_request)) {
    ADD_FAILURE() << "could not send: " << raw_request;
    return {};
  }
  std::string error;
  auto r = client.read_response(Millis(10000), head, &error);
  if (!r) {
    ADD_FAILURE() << "no response to " << raw_request << ": " << error << "\n("
                  << server_side_view(client.socket()) << ")";
    return {};
  }
  return *r;
}

Response ObsTest::fetch_once(uint16_t port, std::string_view raw_request) {
  HttpClient c = connect_http(port);
  return roundtrip(c, raw_request);
}

int ObsTest::promtool_check(const std::string& text, std::string* output) {
  const std::string path = dir_.write("metrics.txt", text);
  const std::string command = "/usr/bin/promtool check metrics < '" + path + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output->append(buf, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace sluice::testing
