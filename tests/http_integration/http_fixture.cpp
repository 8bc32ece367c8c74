#include "tests/http_integration/http_fixture.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "tests/http_integration/text.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool parse_head(std::string_view head, Response& r) {
  r.raw_head = std::string(head);
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // Strict, so that stray body bytes in front of a response (a desynced
  // connection) fail the test instead of being skipped over.
  if (!line.starts_with("HTTP/1.") || line.find('\n') != std::string_view::npos) return false;
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  r.version = line.substr(0, sp1);
  size_t sp2 = line.find(' ', sp1 + 1);
  r.status = std::atoi(std::string(line.substr(sp1 + 1, sp2 - sp1 - 1)).c_str());
  r.reason = sp2 == std::string_view::npos ? "" : std::string(line.substr(sp2 + 1));
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view field = head.substr(pos, end - pos);
    pos = end + 2;
    if (field.empty()) break;
    size_t colon = field.find(':');
    if (colon == std::string_view::npos) return false;
    r.headers.emplace_back(std::string(field.substr(0, colon)),
                           std::string(trim(field.substr(colon + 1))));
  }
  return r.status >= 100;
}

}  // namespace

std::string http_it_sluice_binary() {
  const char* env = std::getenv("SLUICE_TEST_BINARY");
  return env != nullptr && *env != '\0' ? env : SLUICE_BINARY_PATH;
}

std::string HttpConfig::to_yaml(uint16_t port) const {
  std::string y = "workers: " + workers + "\n";
  y += "listeners:\n";
  y += "  - name: web\n";
  y += "    listen: \"" + listen_host + ":" + std::to_string(port) + "\"\n";  // "[::]" is YAML
  y += "    protocol: http\n";
  y += "    timeouts: " + timeouts + "\n";
  y += "    retries: " + retries + "\n";
  y += listener_extra;
  y += "    routes:\n";
  for (const auto& r : routes) y += "      - " + r + "\n";
  if (!clusters.empty()) {
    y += "clusters:\n";
    for (const auto& c : clusters) {
      y += "  - name: " + c.name + "\n";
      y += "    balancer: { type: " + c.balancer + " }\n";
      y += "    endpoints:\n";
      for (const auto& e : c.endpoints) y += "      - { address: " + e + " }\n";
      y += c.extra;
    }
  }
  y += extra;
  return y;
}

// ---------------------------------------------------------------- Response

std::optional<std::string> Response::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [n, v] : headers)
    if (lower(n) == want) return v;
  return std::nullopt;
}

size_t Response::count(std::string_view name) const {
  const std::string want = lower(name);
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(),
                                           [&](const auto& h) { return lower(h.first) == want; }));
}

bool Response::chunked() const {
  auto te = header("transfer-encoding");
  return te && lower(*te).find("chunked") != std::string::npos;
}

// ---------------------------------------------------------------- HttpClient

bool HttpClient::send(std::string_view data, Millis timeout) {
  return send_all(socket_, data, timeout);
}

void HttpClient::shutdown_write() {
  ::shutdown(socket_.fd(), SHUT_WR);
}

bool HttpClient::fill(Clock::time_point deadline, std::string* error) {
  char tmp[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(socket_.fd(), tmp, sizeof tmp, 0);
    if (n > 0) {
      buf_.append(tmp, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      eof_ = true;
      if (error) *error = "EOF";
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      if (error) *error = std::string("recv: ") + std::strerror(errno);
      return false;
    }
    pollfd p{socket_.fd(), POLLIN, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc == 0) {
      if (error) *error = "timeout";
      return false;
    }
  }
}

std::optional<Response> HttpClient::read_head(Millis timeout, std::string* error) {
  const auto deadline = Clock::now() + timeout;
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline, error)) {
      if (error) *error += " before a whole response head (got: " + buf_.substr(0, 200) + ")";
      return std::nullopt;
    }
  }
  Response r;
  if (!parse_head(std::string_view(buf_).substr(0, end + 4), r)) {
    if (error) *error = "unparsable response head: " + buf_.substr(0, end);
    return std::nullopt;
  }
  buf_.erase(0, end + 4);
  return r;
}

std::optional<Response> HttpClient::read_response(Millis timeout, bool head_request,
                                                  std::string* error) {
  const auto deadline = Clock::now() + timeout;
  std::optional<Response> r = read_head(timeout, error);
  if (!r) return std::nullopt;
  auto fail = [&](const char* what) -> std::optional<Response> {
    if (error) *error = std::string(what) + " (status " + std::to_string(r->status) + ")";
    return std::nullopt;
  };
  if (head_request || r->status / 100 == 1 || r->status == 204 || r->status == 304) return r;
  if (r->chunked()) {
    for (;;) {
      size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos)
        if (!fill(deadline, nullptr)) return fail("truncated chunk size line");
      const uint64_t size = std::strtoull(buf_.substr(0, eol).c_str(), nullptr, 16);
      buf_.erase(0, eol + 2);
      if (size == 0) {
        for (;;) {
          while ((eol = buf_.find("\r\n")) == std::string::npos)
            if (!fill(deadline, nullptr)) return fail("truncated trailers");
          const bool empty = eol == 0;
          buf_.erase(0, eol + 2);
          if (empty) return r;
        }
      }
      while (buf_.size() < size + 2)
        if (!fill(deadline, nullptr)) return fail("truncated chunk");
      r->body.append(buf_, 0, size);
      buf_.erase(0, size + 2);
    }
  }
  if (auto cl = r->header("content-length")) {
    const uint64_t length = std::strtoull(cl->c_str(), nullptr, 10);
    while (buf_.size() < length)
      if (!fill(deadline, nullptr)) return fail("truncated Content-Length body");
    r->body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }
  // Delimited by the close.
  while (fill(deadline, nullptr)) {
  }
  if (!eof_) return fail("body delimited by close did not end");
  r->body = std::move(buf_);
  buf_.clear();
  return r;
}

bool HttpClient::stream_body(uint64_t length,
                             const std::function<void(const char*, size_t)>& consumer,
                             Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (length > 0) {
    if (buf_.empty() && !fill(deadline, nullptr)) return false;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(length, buf_.size()));
    consumer(buf_.data(), take);
    buf_.erase(0, take);
    length -= take;
  }
  return true;
}

StreamEnd HttpClient::wait_closed(Millis timeout, std::string* extra) {
  const auto deadline = Clock::now() + timeout;
  if (!buf_.empty()) {
    if (extra) *extra = buf_;
    return StreamEnd::limit;
  }
  std::string error;
  if (fill(deadline, &error)) {
    if (extra) *extra = buf_;
    return StreamEnd::limit;
  }
  if (eof_) return StreamEnd::eof;
  return error == "timeout" ? StreamEnd::timeout : StreamEnd::reset;
}

void HttpClient::read_for(Millis timeout, size_t limit) {
  const auto deadline = Clock::now() + timeout;
  while (buf_.size() < limit && fill(deadline, nullptr)) {
  }
}

bool HttpClient::read_until(std::string_view marker, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (buf_.find(marker) == std::string::npos)
    if (!fill(deadline, nullptr)) return false;
  return true;
}

std::string HttpClient::take_pending() {
  std::string out = std::move(buf_);
  buf_.clear();
  return out;
}

std::string request(std::string_view method, std::string_view target, std::string_view host,
                    std::string_view extra_headers, std::string_view body) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
  out += "\r\n";
  out += extra_headers;
  if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

// ---------------------------------------------------------------- fixture

void HttpSluiceTest::TearDown() {
  if (sluice_ && sluice_->pid() > 0) {
    ExitStatus st = stop_sluice();
    EXPECT_TRUE(st.success()) << "sluice did not exit cleanly on SIGTERM: " << st.to_string()
                              << "\n"
                              << sluice_->describe();
  }
  if (HasFailure()) {
    dir_.keep();
    std::printf("[ kept ] configs and logs in %s\n", dir_.path().c_str());
  }
}

ExitStatus HttpSluiceTest::stop_sluice() {
  return sluice_->stop(Millis(10000));
}

bool HttpSluiceTest::start_sluice(const HttpConfig& config) {
  port_ = config.listen_host == "127.0.0.1" ? free_loopback_port() : free_wildcard_port();
  const std::string yaml = config.to_yaml(port_);
  const std::string path = dir_.write("sluice.yaml", yaml);
  sluice_ = Process::spawn({http_it_sluice_binary(), "--config", path}, dir_.path(), "sluice");
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    if (connect_loopback(port_, Millis(200)).valid()) return true;
    if (!sluice_->running()) break;
    std::this_thread::sleep_for(Millis(5));
  }
  ADD_FAILURE() << "sluice is not accepting on port " << port_ << " ("
                << (sluice_->running() ? "still running" : "exited") << ")\nconfig:\n"
                << yaml << sluice_->describe();
  return false;
}

HttpClient HttpSluiceTest::connect(Millis timeout) {
  std::string error;
  Socket s = connect_loopback(port_, timeout, &error);
  EXPECT_TRUE(s.valid()) << "connect to sluice on port " << port_ << ": " << error;
  return HttpClient(std::move(s));
}

std::optional<Response> HttpSluiceTest::fetch(std::string_view raw_request, bool head_request) {
  HttpClient c = connect();
  if (!c.valid() || !c.send(raw_request)) {
    ADD_FAILURE() << "could not send the request";
    return std::nullopt;
  }
  std::string error;
  auto r = c.read_response(Millis(10000), head_request, &error);
  if (!r) ADD_FAILURE() << "no response: " << error << " (" << server_side_view(c.socket()) << ")";
  return r;
}

}  // namespace sluice::testing
