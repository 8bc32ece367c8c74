#include "tests/proxy/l7/exchange_harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "config/parse.hpp"

namespace sluice::proxy::test {

void RecordingSink::on_interim_response(const http::Head& head) {
  events.push_back("interim " + std::to_string(head.status));
}

bool RecordingSink::on_response_head(const http::Head& head, std::string_view extra) {
  events.push_back("head " + std::to_string(head.status));
  extra_headers = extra;
  return want_payload;
}

void RecordingSink::on_response_body(uint16_t buffer, uint32_t offset, uint32_t length) {
  body.append(reinterpret_cast<const char*>(loop_.buffers().data(buffer)) + offset, length);
}

void RecordingSink::on_local_response(const LocalResponse& response) {
  events.push_back("local " + std::to_string(response.status) + " " + std::string(response.code) +
                   (response.keep_alive ? " keep-alive" : " close"));
  if (response.direct) {
    body.assign(response.body);
    extra_headers = response.extra_headers;
  }
}

FakeEndpoint::FakeEndpoint() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(listener_, 16);
  socklen_t length = sizeof a;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &length);
  port_ = ntohs(a.sin_port);
}

FakeEndpoint::~FakeEndpoint() {
  if (connection_ >= 0) ::close(connection_);
  ::close(listener_);
}

bool FakeEndpoint::accept(Loop& loop, int ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if (connection_ >= 0) ::close(connection_);
      connection_ = fd;
      ++accepted_;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    loop.run_once(5);
  }
}

std::string FakeEndpoint::read_until(Loop& loop, const std::string& until, int ms) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (got.find(until) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    char buffer[4096];
    const ssize_t n = ::recv(connection_, buffer, sizeof buffer, 0);
    if (n > 0) {
      got.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    loop.run_once(5);
  }
  return got;
}

void FakeEndpoint::write(const std::string& bytes) {
  ASSERT_EQ(::send(connection_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

void FakeEndpoint::close_connection() {
  ::shutdown(connection_, SHUT_WR);
}

void FakeEndpoint::reset_connection() {
  linger l{1, 0};
  ::setsockopt(connection_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(connection_);
  connection_ = -1;
}

void ExchangeHarness::build(const std::string& yaml) {
  const std::string init = loop_.init(64, 64, 16 * 1024);
  if (!init.empty()) GTEST_SKIP() << init;
  std::string text = yaml;
  for (int i = 0; i < 2; ++i) {
    const std::string key = "{E" + std::to_string(i) + "}";
    const std::string address = "127.0.0.1:" + std::to_string(endpoints_[i].port());
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key))
      text.replace(at, key.size(), address);
  }
  config::ParseResult parsed = config::parse_config_text(text, "exchange_test.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.errors[0].to_string();
  auto config = std::make_shared<const config::Config>(std::move(parsed.config));
  metrics_ = std::make_unique<metrics::Registry>(1);
  std::string error;
  snapshot_ = build_snapshot(config, state_, *metrics_, error);
  ASSERT_NE(snapshot_, nullptr) << error;
  pool_ = std::make_unique<UpstreamPool>(loop_, snapshot_->clusters, [] {});
  for (size_t i = 0; i < snapshot_->clusters.size(); ++i) cores_.emplace_back(i + 1, 0);
  sink_ = std::make_unique<RecordingSink>(loop_);
  exchange_ = std::make_unique<Exchange>(*sink_);
}

const HttpListener& ExchangeHarness::http() const {
  return static_cast<const HttpListener&>(*snapshot_->listeners[0].factory);
}

const http::Head& ExchangeHarness::request(const std::string& text) {
  http::HeadParser& parser = parsers_.emplace_back(http::HeadParser::request(Exchange::kLimits));
  size_t used = 0;
  EXPECT_EQ(parser.feed(text, used), http::Status::done) << text;
  return parser.head();
}

bool ExchangeHarness::run_until(const std::function<bool()>& done, int ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    loop_.run_once(5);
    loop_.expire_timers();
  }
  return true;
}

bool ExchangeHarness::saw(const std::string& event) const {
  for (const std::string& e : sink_->events)
    if (e == event) return true;
  return false;
}

const metrics::ClusterCounters& ExchangeHarness::cluster_counters(size_t cluster) const {
  return snapshot_->clusters[cluster].stats->per_worker.at(0);
}

void ExchangeHarness::TearDown() {
  if (exchange_) exchange_->end(0, 0);
  if (pool_) pool_->close();
  // Closed connections free themselves once the kernel returns their operations.
  if (pool_) run_until([&] { return pool_->live() == 0; });
  exchange_.reset();
}

}  // namespace sluice::proxy::test
