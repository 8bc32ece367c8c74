// AdminServer over real sockets on 127.0.0.1: exact responses, errors, limits, deadlines,
// asynchronous replies. The server's ControlLoop runs in a thread of its own, as the control
// thread would; the test thread is the client.
#include "proxy/control/admin/admin_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include "tests/admin/admin_test_util.hpp"
#include "tests/support/socket.hpp"

namespace sluice::proxy::admin {
namespace {

using namespace std::chrono_literals;
using control::ControlLoop;
using sluice::testing::connect_loopback;
using sluice::testing::recv_until_eof;
using sluice::testing::send_all;
using sluice::testing::Socket;
using sluice::testing::StreamEnd;
using test::loopback;
using test::text;

// `size` bytes whose every position is checkable.
std::string pattern(size_t size) {
  std::string body(size, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7) % 26);
  return body;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void start(AdminOptions options = {}) {
    server_ = std::make_unique<AdminServer>(loop_, options);
    ASSERT_EQ(server_->open(loopback(0)), "");
    ASSERT_NE(server_->port(), 0);
    // The requests below name the server "x" (Host: x); admin_guard_test.cpp covers the rest.
    server_->allow_hosts([] { return std::vector<std::string>{"x"}; });
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
    server_->route("GET", "/big",
                   [](const AdminRequest& r) { return text(pattern(std::stoul(r.query))); });
    // Answers "hi\n" after the number of milliseconds in the query.
    server_->route_async("GET", "/later", [this](const AdminRequest& r, AdminReply reply) {
      loop_.after(std::chrono::milliseconds(std::stoul(r.query)), [reply] { reply(text("hi\n")); });
    });
    // Keeps the reply for the test to call (on the loop thread, through on_loop).
    server_->route_async("GET", "/hold", [this](const AdminRequest&, AdminReply reply) {
      held_.push_back(std::move(reply));
      ++held_count_;
    });
    // Replies twice (the first one as /big does), then throws.
    server_->route_async("GET", "/twice", [](const AdminRequest& r, AdminReply reply) {
      reply(text(pattern(std::stoul(r.query))));
      reply(text("two\n"));
      throw std::runtime_error("after the reply");
    });
    server_->route_async("GET", "/async-throw",
                         [](const AdminRequest&, AdminReply) { throw std::runtime_error("boom"); });
    thread_ = std::thread([this] { loop_.run_until([this] { return stop_.load(); }); });
  }
  void stop() {
    stop_ = true;
    loop_.wake();
    thread_.join();
  }
  void TearDown() override {
    if (thread_.joinable()) stop();
  }
  // Runs `fn` on the loop's thread and waits for it.
  void on_loop(std::function<void()> fn) {
    std::promise<void> done;
    loop_.post_from_any_thread([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  size_t connection_count() {
    size_t count = 0;
    on_loop([&] { count = server_->connection_count(); });
    return count;
  }
  // Polls `done` until it holds, for at most 3 s.
  static bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 600; ++i, std::this_thread::sleep_for(5ms))
      if (done()) return true;
    return false;
  }

  // GET `target` answers `size` bytes of pattern(); read by a late reader, so the server's
  // sends fill up first.
  void expect_large_answer(const std::string& target, size_t size) {
    Socket s = connect();
    ASSERT_TRUE(send_all(s, "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n", 2s));
    std::this_thread::sleep_for(100ms);
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

  ControlLoop loop_;  // declared first: it outlives the server
  std::unique_ptr<AdminServer> server_;
  std::vector<AdminReply> held_;  // loop thread only
  std::atomic<int> held_count_{0};
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
  std::string answer = exchange(
      "POST /echo?x HTTP/1.1\r\nHost: x\r\nX-Sluice-Admin: 1\r\nContent-Length: 11\r\n\r\nhello "
      "world");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_TRUE(
      answer.ends_with("\r\nContent-Length: 27\r\nConnection: close\r\n"
                       "Cache-Control: no-store\r\n\r\nPOST /echo ?x [hello world]"))
      << answer;
  answer = exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nX-Sluice-Admin: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_TRUE(answer.ends_with("\r\n\r\nPOST /echo ? [abcde]")) << answer;
}

TEST_F(AdminServerTest, ExpectContinueGetsAnInterimResponse) {
  start();
  Socket s = connect();
  ASSERT_TRUE(send_all(s,
                       "POST /echo HTTP/1.1\r\nHost: x\r\nX-Sluice-Admin: 1\r\nExpect: "
                       "100-continue\r\nContent-Length: 4\r\n\r\n",
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
  answer = exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nX-Sluice-Admin: 1\r\nContent-Length: 65537\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << answer;
  answer = exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nX-Sluice-Admin: 1\r\nContent-Length: 65536\r\n\r\n" +
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
  stop();
  EXPECT_LE(server_->connection_count(), 64u);
}

// 1 MiB is a large /metrics page; 16 MiB is more than any default socket send buffer
// (tcp_wmem max is 4 MiB), so the server must finish it over several POLLOUT rounds.
TEST_F(AdminServerTest, LargeBodiesArriveIntactThroughPartialWrites) {
  start();
  for (size_t size : {size_t{1} << 20, size_t{16} << 20})
    expect_large_answer("/big?" + std::to_string(size), size);
}

TEST_F(AdminServerTest, AsyncReplyAfterATimerReachesTheClient) {
  start();
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(exchange("GET /later?100 HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n" + std::string(kHeaders) + "hi\n");
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 100ms);
  EXPECT_EQ(exchange("HEAD /later?0 HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n" + std::string(kHeaders));
}

TEST_F(AdminServerTest, PendingReplyIsNotCutByTheReadDeadline) {
  AdminOptions options;
  options.deadline = 200ms;
  start(options);
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(exchange("GET /later?500 HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n" + std::string(kHeaders) + "hi\n");
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 500ms);
}

TEST_F(AdminServerTest, OnlyTheFirstReplyCountsAndLaterThrowsAreIgnored) {
  start();
  std::string answer = exchange("GET /twice?4 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_TRUE(
      answer.ends_with("\r\nContent-Length: 4\r\nConnection: close\r\n"
                       "Cache-Control: no-store\r\n\r\nahov"))
      << answer;
  // The second reply comes while the first is still being written: it must not touch it.
  expect_large_answer("/twice?" + std::to_string(size_t{16} << 20), size_t{16} << 20);
  answer = exchange("GET /async-throw HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 500 Internal Server Error\r\n")) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\ninternal error: boom\n")) << answer;
}

TEST_F(AdminServerTest, ReplyAfterTheClientLeftIsANoOp) {
  start();
  {
    // The client resets the connection while its reply is pending: the server drops it.
    Socket s = connect();
    ASSERT_TRUE(send_all(s, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n", 2s));
    ASSERT_TRUE(eventually([&] { return held_count_ == 1; }));
    ASSERT_TRUE(eventually([&] { return connection_count() == 1; }));
    linger reset{1, 0};
    ASSERT_EQ(::setsockopt(s.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
  }
  ASSERT_TRUE(eventually([&] { return connection_count() == 0; }))
      << "a reset connection waits for its reply";
  on_loop([&] {
    held_[0](text("late\n"));
    held_[0](text("later\n"));
  });
  EXPECT_EQ(connection_count(), 0u);
  {
    // A plain close is not noticed until the reply is written, which then goes nowhere.
    Socket s = connect();
    ASSERT_TRUE(send_all(s, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n", 2s));
    ASSERT_TRUE(eventually([&] { return held_count_ == 2; }));
  }
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(connection_count(), 1u);
  on_loop([&] { held_[1](text("late\n")); });
  EXPECT_TRUE(eventually([&] { return connection_count() == 0; }));
  // The server still answers.
  EXPECT_EQ(exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n" + std::string(kHeaders) + "hi\n");
}

// Single-threaded: the test drives the loop itself.
TEST(AdminServer, ReplyAfterTheServerIsDestroyedIsANoOp) {
  ControlLoop loop;
  std::vector<AdminReply> held;
  auto server = std::make_unique<AdminServer>(loop);
  ASSERT_EQ(server->open(loopback(0)), "");
  server->route_async("GET", "/hold",
                      [&](const AdminRequest&, AdminReply reply) { held.push_back(reply); });
  std::string error;
  Socket s = connect_loopback(server->port(), 2s, &error);
  ASSERT_TRUE(s.valid()) << error;
  ASSERT_TRUE(send_all(s, "GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 2s));
  for (int i = 0; i < 100 && held.empty(); ++i) loop.run_once(20ms);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(server->connection_count(), 1u);
  server.reset();
  held[0](text("late\n"));
  held[0](text("later\n"));
  auto result = recv_until_eof(s, 2s);
  EXPECT_EQ(result.data, "");  // closed without an answer
  EXPECT_NE(result.end, StreamEnd::timeout);
  EXPECT_EQ(loop.run_once(0ms), 0u);  // nothing of the server is left in the loop
}

// The loop the server sits on still serves other fds (the signalfd), listener or not.
TEST(AdminServer, LoopServesOtherFdsWithAndWithoutAListener) {
  ControlLoop loop;
  int event = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(event, 0);
  int readable = 0;
  ASSERT_TRUE(loop.watch(event, EPOLLIN, [&](uint32_t) { ++readable; }));
  AdminServer no_listener(loop);
  EXPECT_FALSE(no_listener.is_open());
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(loop.run_once(50ms), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 45ms);
  uint64_t one = 1;
  ASSERT_EQ(::write(event, &one, sizeof one), 8);
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  EXPECT_EQ(readable, 1);

  AdminServer server(loop);
  ASSERT_EQ(server.open(loopback(0)), "");
  EXPECT_EQ(loop.run_once(1000ms), 1u);  // still unread: still readable
  EXPECT_EQ(readable, 2);
  uint64_t value = 0;
  ASSERT_EQ(::read(event, &value, sizeof value), 8);
  EXPECT_EQ(loop.run_once(10ms), 0u);
  EXPECT_EQ(loop.run_once(0ms), 0u);
  EXPECT_EQ(readable, 2);
  loop.unwatch(event);
  ::close(event);
}

TEST(AdminServer, OpenReportsErrorsAndKeepsTheOldSocket) {
  ControlLoop loop;
  AdminServer first(loop);
  ASSERT_EQ(first.open(loopback(0)), "");
  const uint16_t port = first.port();
  AdminServer second(loop);
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
