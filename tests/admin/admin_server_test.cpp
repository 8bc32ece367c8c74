// AdminServer over real sockets on 127.0.0.1: exact responses, errors, limits, deadlines.
// The server runs in a thread of its own that calls poll_once() in a loop, as the control
// thread would; the test thread is the client.
#include "proxy/control/admin/admin_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "tests/support/socket.hpp"

namespace sluice::proxy::admin {
namespace {

using namespace std::chrono_literals;
using sluice::testing::connect_loopback;
using sluice::testing::recv_until_eof;
using sluice::testing::send_all;
using sluice::testing::Socket;
using sluice::testing::StreamEnd;

// By hand: the config parser rightly refuses port 0, which tests need for a free port.
config::Address loopback(uint16_t port) {
  config::Address a;
  a.text = "127.0.0.1:" + std::to_string(port);
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.length = sizeof(sockaddr_in);
  return a;
}

AdminResponse text(std::string body) {
  AdminResponse r;
  r.body = std::move(body);
  return r;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void start(AdminOptions options = {}) {
    server_ = std::make_unique<AdminServer>(options);
    ASSERT_EQ(server_->open(loopback(0)), "");
    ASSERT_NE(server_->port(), 0);
    server_->route("GET", "/hello", [](const AdminRequest&) { return text("hi\n"); });
    server_->route("GET", "/echo", [](const AdminRequest& r) {
      return text(r.method + " " + r.path + " ?" + r.query + " [" + r.body + "]");
    });
    server_->route("POST", "/echo", [](const AdminRequest& r) {
      return text(r.method + " " + r.path + " ?" + r.query + " [" + r.body + "]");
    });
    server_->route("POST", "/reload", [](const AdminRequest&) { return text("ok\n"); });
    server_->route("GET", "/throw",
                   [](const AdminRequest&) -> AdminResponse { throw std::runtime_error("boom"); });
    server_->route("GET", "/big", [](const AdminRequest& r) {
      std::string body(std::stoul(r.query), '\0');
      for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7) % 26);
      return text(std::move(body));
    });
    thread_ = std::thread([this] {
      while (!stop_.load()) server_->poll_once(5ms, -1);
    });
  }
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  Socket connect() {
    std::string error;
    Socket s = connect_loopback(server_->port(), 2s, &error);
    EXPECT_TRUE(s.valid()) << error;
    return s;
  }
  // One request on a new connection; everything the server sent until it closed.
  std::string exchange(std::string_view request) {
    Socket s = connect();
    EXPECT_TRUE(send_all(s, request, 2s));
    auto result = recv_until_eof(s, 5s);
    EXPECT_EQ(result.end, StreamEnd::eof) << to_string(result.end);
    return result.data;
  }

  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

constexpr std::string_view kHeaders =
    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nConnection: "
    "close\r\nCache-Control: no-store\r\n\r\n";

TEST_F(AdminServerTest, GetExactResponse) {
  start();
  EXPECT_EQ(exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n" + std::string(kHeaders) + "hi\n");
  // HTTP/1.0 without Host, as old scrapers and `nc` users send it.
  EXPECT_EQ(exchange("GET /hello HTTP/1.0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n" + std::string(kHeaders) + "hi\n");
}

TEST_F(AdminServerTest, HeadHasHeadersWithoutBody) {
  start();
  EXPECT_EQ(exchange("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n" + std::string(kHeaders));
}

TEST_F(AdminServerTest, PathAndQueryAreSplit) {
  start();
  std::string answer = exchange("GET /echo?a=1&b=%20 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(answer.ends_with("\r\n\r\nGET /echo ?a=1&b=%20 []")) << answer;
}

TEST_F(AdminServerTest, UnknownPathIs404) {
  start();
  std::string answer = exchange("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 404 Not Found\r\n")) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\nnot found\n")) << answer;
}

TEST_F(AdminServerTest, WrongMethodIs405WithAllow) {
  start();
  std::string answer = exchange("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << answer;
  EXPECT_NE(answer.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << answer;
  answer = exchange("GET /reload HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(answer.find("\r\nAllow: POST\r\n"), std::string::npos) << answer;
  answer = exchange("DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(answer.find("\r\nAllow: GET, HEAD, POST\r\n"), std::string::npos) << answer;
}

TEST_F(AdminServerTest, PostBodyReachesTheHandler) {
  start();
  std::string answer =
      exchange("POST /echo?x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_TRUE(
      answer.ends_with("\r\nContent-Length: 27\r\nConnection: close\r\n"
                       "Cache-Control: no-store\r\n\r\nPOST /echo ?x [hello world]"))
      << answer;
  answer = exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_TRUE(answer.ends_with("\r\n\r\nPOST /echo ? [abcde]")) << answer;
}

TEST_F(AdminServerTest, ExpectContinueGetsAnInterimResponse) {
  start();
  Socket s = connect();
  ASSERT_TRUE(send_all(
      s, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
      2s));
  pollfd readable{s.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&readable, 1, 2000), 1) << "no 100 Continue";
  std::string interim(64, '\0');
  interim.resize(std::max<ssize_t>(0, ::recv(s.fd(), interim.data(), interim.size(), 0)));
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(send_all(s, "body", 2s));
  auto result = recv_until_eof(s, 5s);
  EXPECT_TRUE(result.data.ends_with("[body]")) << result.data;
}

TEST_F(AdminServerTest, MalformedRequestIs400) {
  start();
  for (std::string_view request : {"GARBAGE\r\n\r\n", "GET /hello HTTP/1.1\r\nHost x\r\n\r\n",
                                   "GET /hello HTTP/1.1\r\nContent-Length: zz\r\n\r\n"}) {
    std::string answer = exchange(request);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 Bad Request\r\n")) << request << answer;
  }
  // A request cut short by the client's half-close.
  Socket s = connect();
  ASSERT_TRUE(send_all(s, "GET /hello HTTP/1.1\r\nHo", 2s));
  ::shutdown(s.fd(), SHUT_WR);
  auto result = recv_until_eof(s, 5s);
  EXPECT_TRUE(result.data.starts_with("HTTP/1.1 400 Bad Request\r\n")) << result.data;
}

TEST_F(AdminServerTest, OversizedHeaderIs431AndOversizedBodyIs413) {
  start();
  std::string answer =
      exchange("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")) << answer;
  answer = exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << answer;
  answer = exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n" +
                    std::string(65536, 'b'));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer.substr(0, 100);
}

TEST_F(AdminServerTest, HandlerExceptionIs500) {
  start();
  std::string answer = exchange("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 500 Internal Server Error\r\n")) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\ninternal error: boom\n")) << answer;
}

TEST_F(AdminServerTest, SlowClientIsClosedAtTheDeadline) {
  AdminOptions options;
  options.deadline = 200ms;
  start(options);
  Socket s = connect();
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(send_all(s, "GET /hel", 2s));
  auto result = recv_until_eof(s, 3s);
  const auto waited = std::chrono::steady_clock::now() - begin;
  EXPECT_NE(result.end, StreamEnd::timeout);
  EXPECT_EQ(result.data, "");  // closed without an answer
  EXPECT_GE(waited, 150ms);
  EXPECT_LE(waited, 1500ms);
}

TEST_F(AdminServerTest, IdleConnectionsCannotLockOutARequest) {
  AdminOptions options;
  options.max_connections = 64;
  start(options);
  std::vector<Socket> idle;
  for (int i = 0; i < 65; ++i) idle.push_back(connect());
  // The 66th gets an answer: room is made by dropping the idle connection waiting longest.
  EXPECT_EQ(exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n" + std::string(kHeaders) + "hi\n");
  auto first = recv_until_eof(idle[0], 2s);
  EXPECT_NE(first.end, StreamEnd::timeout) << "the oldest idle connection is still open";
  stop_ = true;
  thread_.join();
  EXPECT_LE(server_->connection_count(), 64u);
}

// 1 MiB is a large /metrics page; 16 MiB is more than any default socket send buffer
// (tcp_wmem max is 4 MiB), so the server must finish it over several POLLOUT rounds.
TEST_F(AdminServerTest, LargeBodiesArriveIntactThroughPartialWrites) {
  start();
  for (size_t size : {size_t{1} << 20, size_t{16} << 20}) {
    Socket s = connect();
    ASSERT_TRUE(
        send_all(s, "GET /big?" + std::to_string(size) + " HTTP/1.1\r\nHost: x\r\n\r\n", 2s));
    std::this_thread::sleep_for(100ms);  // a late reader: the server's sends fill up first
    auto result = recv_until_eof(s, 5s, 64 << 20);
    ASSERT_EQ(result.end, StreamEnd::eof) << size;
    const size_t split = result.data.find("\r\n\r\n");
    ASSERT_NE(split, std::string::npos);
    EXPECT_NE(result.data.find("\r\nContent-Length: " + std::to_string(size) + "\r\n"),
              std::string::npos);
    const std::string_view body = std::string_view(result.data).substr(split + 4);
    ASSERT_EQ(body.size(), size);
    for (size_t i = 0; i < body.size(); ++i)
      ASSERT_EQ(body[i], static_cast<char>('a' + (i * 7) % 26)) << "at byte " << i;
  }
}

TEST(AdminServer, ExtraFdReadinessWithAndWithoutAListener) {
  int event = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(event, 0);
  AdminServer no_listener;
  EXPECT_FALSE(no_listener.is_open());
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_FALSE(no_listener.poll_once(50ms, event));
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 45ms);
  uint64_t one = 1;
  ASSERT_EQ(::write(event, &one, sizeof one), 8);
  EXPECT_TRUE(no_listener.poll_once(1000ms, event));

  AdminServer server;
  ASSERT_EQ(server.open(loopback(0)), "");
  EXPECT_TRUE(server.poll_once(1000ms, event));  // still unread: still readable
  uint64_t value = 0;
  ASSERT_EQ(::read(event, &value, sizeof value), 8);
  EXPECT_FALSE(server.poll_once(10ms, event));
  EXPECT_FALSE(server.poll_once(0ms, -1));
  ::close(event);
}

TEST(AdminServer, OpenReportsErrorsAndKeepsTheOldSocket) {
  AdminServer first;
  ASSERT_EQ(first.open(loopback(0)), "");
  const uint16_t port = first.port();
  AdminServer second;
  ASSERT_EQ(second.open(loopback(0)), "");
  const uint16_t second_port = second.port();
  std::string error = second.open(loopback(port));
  EXPECT_EQ(error, "admin: cannot listen on 127.0.0.1:" + std::to_string(port) +
                       ": Address already in use");
  EXPECT_EQ(second.port(), second_port);
  EXPECT_TRUE(sluice::testing::wait_port_accepts(second_port, 1s));
  second.close();
  EXPECT_FALSE(second.is_open());
  EXPECT_EQ(second.port(), 0);
}

}  // namespace
}  // namespace sluice::proxy::admin
