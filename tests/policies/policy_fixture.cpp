#include "tests/policies/policy_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(left, 0));
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

std::string policy_sluice_binary() {
  const char* env = std::getenv("SLUICE_TEST_BINARY");
  return env != nullptr && *env != '\0' ? env : SLUICE_BINARY_PATH;
}

// ---------------------------------------------------------------- HTTP client

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpResponse::backend() const {
  if (status != 200 || body.rfind("backend ", 0) != 0 || body.empty() || body.back() != '\n')
    return "";
  return body.substr(8, body.size() - 9);
}

Socket connect_from(const std::string& source_ip, uint16_t port, Millis timeout,
                    std::string* error) {
  auto deadline = Clock::now() + timeout;
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!source_ip.empty() && source_ip != "127.0.0.1") {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
    if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      if (error) *error = "bind " + source_ip + ": " + std::strerror(errno);
      return Socket();
    }
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons(port);
  int rc = ::connect(s.fd(), reinterpret_cast<sockaddr*>(&dst), sizeof dst);
  int err = rc == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    if (!wait_fd(s.fd(), POLLOUT, deadline)) {
      if (error) *error = "connect timed out";
      return Socket();
    }
    socklen_t len = sizeof err;
    getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
  }
  if (err != 0) {
    if (error) *error = std::string("connect: ") + std::strerror(err);
    return Socket();
  }
  return s;
}

HttpClient::HttpClient(uint16_t port, std::string source_ip)
    : port_(port), source_ip_(std::move(source_ip)) {}

bool HttpClient::ensure_connected(std::string* error) {
  if (socket_.valid()) return true;
  buffered_.clear();
  socket_ = connect_from(source_ip_, port_, Millis(5000), error);
  if (socket_.valid()) ++connects_;
  return socket_.valid();
}

HttpResponse HttpClient::get(const std::string& target, const std::string& extra_headers,
                             Millis timeout) {
  HttpResponse r;
  auto deadline = Clock::now() + timeout;
  if (!ensure_connected(&r.error)) return r;
  std::string request =
      "GET " + target + " HTTP/1.1\r\nHost: policy.test\r\n" + extra_headers + "\r\n";
  if (!send_all(socket_, request, timeout)) {
    r.error = "send failed";
    socket_.close();
    return r;
  }
  // Head, then exactly Content-Length bytes of body.
  std::string& in = buffered_;
  size_t head_end;
  size_t body_len = 0;
  bool have_head = false;
  bool closed = false;
  for (;;) {
    if (!have_head && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
      have_head = true;
      std::string head = in.substr(0, head_end);
      size_t eol = head.find("\r\n");
      std::string status_line = head.substr(0, eol);
      if (status_line.rfind("HTTP/1.1 ", 0) != 0 || status_line.size() < 12) {
        r.error = "bad status line: " + status_line;
        socket_.close();
        return r;
      }
      int status = std::atoi(status_line.c_str() + 9);
      size_t pos = eol == std::string::npos ? head.size() : eol + 2;
      while (pos < head.size()) {
        size_t end = head.find("\r\n", pos);
        if (end == std::string::npos) end = head.size();
        std::string line = head.substr(pos, end - pos);
        pos = end + 2;
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        r.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
      }
      body_len =
          static_cast<size_t>(std::strtoull(r.header("content-length").c_str(), nullptr, 10));
      in.erase(0, head_end + 4);
      r.status = status;  // provisional until the body is complete
    }
    if (have_head && in.size() >= body_len) {
      r.body = in.substr(0, body_len);
      in.erase(0, body_len);
      if (lower(r.header("connection")) == "close") socket_.close();
      return r;
    }
    if (closed) break;
    if (!wait_fd(socket_.fd(), POLLIN, deadline)) {
      r.error = "timed out waiting for the response";
      break;
    }
    char buf[16384];
    ssize_t n = ::recv(socket_.fd(), buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      closed = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      r.error = std::string("recv: ") + std::strerror(errno);
      break;
    }
  }
  if (r.error.empty()) r.error = "connection closed before a complete response";
  r.status = 0;
  socket_.close();
  return r;
}

std::string tcp_fetch_backend(uint16_t port, const std::string& source_ip, Millis timeout) {
  Socket s = connect_from(source_ip, port, timeout);
  if (!s.valid()) return "";
  if (!send_all(s, "GET / HTTP/1.1\r\nHost: policy.test\r\nConnection: close\r\n\r\n", timeout))
    return "";
  ReceiveResult got = recv_until_eof(s, timeout);
  size_t body = got.data.find("\r\n\r\nbackend ");
  if (got.data.rfind("HTTP/1.1 200 ", 0) != 0 || body == std::string::npos) return "";
  std::string name = got.data.substr(body + 12);
  if (!name.empty() && name.back() == '\n') name.pop_back();
  return name;
}

// ---------------------------------------------------------------- redis

std::string RedisProcess::binary() {
  for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

RedisProcess::RedisProcess(const TempDir& dir, const std::string& label) {
  port_ = free_loopback_port();
  process_ = Process::spawn({binary(), "--port", std::to_string(port_), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--loglevel", "warning"},
                            dir.path(), label);
  if (!wait_port_accepts(port_, Millis(10000)))
    throw std::runtime_error("redis-server did not come up:\n" + process_->describe());
}

void RedisProcess::kill() {
  if (!process_ || process_->pid() <= 0 || !process_->running()) return;
  ::kill(process_->pid(), SIGKILL);
  process_->wait(Millis(5000));
}

// ---------------------------------------------------------------- fixture

void PolicyTest::TearDown() {
  for (size_t i = 0; i < sluices_.size(); ++i) {
    Process& p = sluices_[i];
    if (p.pid() <= 0 || !p.running()) continue;
    ExitStatus st = p.stop(Millis(10000));
    EXPECT_TRUE(st.success()) << "sluice " << i
                              << " did not exit cleanly on SIGTERM: " << st.to_string() << "\n"
                              << p.describe();
  }
  if (HasFailure()) {
    dir_.keep();
    std::printf("[ kept ] configs and logs in %s\n", dir_.path().c_str());
  }
}

Backend& PolicyTest::add_http_backend(const std::string& name) {
  BackendOptions o;
  o.mode = "http";
  o.name = name;
  o.stats = true;
  backends_.push_back(start_backend(dir_, o));
  return backends_.back();
}

int PolicyTest::start_sluice(const std::string& yaml) {
  const int index = static_cast<int>(sluices_.size());
  const std::string label = "sluice-" + std::to_string(index);
  std::string path = dir_.write(label + ".yaml", yaml);
  sluices_.push_back(
      Process::spawn({policy_sluice_binary(), "--config", path}, dir_.path(), label));
  Process& p = sluices_.back();
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    if (p.stderr_text().find("sluice started") != std::string::npos) return index;
    if (!p.running()) break;
    std::this_thread::sleep_for(Millis(10));
  }
  ADD_FAILURE() << "sluice did not start (" << (p.running() ? "still running" : "exited")
                << ")\nconfig:\n"
                << yaml << p.describe();
  return -1;
}

void PolicyTest::stop_sluice(int index) {
  Process& p = sluice(index);
  ExitStatus st = p.stop(Millis(10000));
  EXPECT_TRUE(st.success()) << "sluice " << index << ": " << st.to_string() << "\n" << p.describe();
}

std::string endpoints_yaml(const std::vector<std::string>& addresses,
                           const std::vector<int>& weights) {
  std::string y;
  for (size_t i = 0; i < addresses.size(); ++i) {
    y += "      - { address: " + addresses[i];
    if (i < weights.size()) y += ", weight: " + std::to_string(weights[i]);
    y += " }\n";
  }
  return y;
}

std::string limited_route_yaml(uint16_t port, const std::string& limit,
                               const std::string& backend) {
  return "workers: 1\n"
         "listeners:\n"
         "  - name: web\n"
         "    listen: 127.0.0.1:" +
         std::to_string(port) +
         "\n"
         "    protocol: http\n"
         "    routes:\n"
         "      - match: { path_prefix: / }\n"
         "        cluster: c\n"
         "        rate_limit: " +
         limit +
         "\n"
         "clusters:\n"
         "  - name: c\n"
         "    endpoints:\n" +
         endpoints_yaml({backend}) + "rate_limits:\n";
}

std::map<std::string, int> count_by_backend(const std::vector<HttpResponse>& responses) {
  std::map<std::string, int> counts;
  for (const auto& r : responses) ++counts[r.backend()];
  return counts;
}

}  // namespace sluice::testing
