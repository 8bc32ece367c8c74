// HttpStream against a scripted server on loopback: the test accepts the connection itself
// and writes the response byte for byte, so every shape (chunks, garbage, silence, an early
// close) is exact.
#include "proxy/control/discovery/http_stream.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/scalars.hpp"
#include "tests/control/discovery/recording_sink.hpp"
#include "tests/support/socket.hpp"

namespace sluice::proxy::discovery {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class HttpStreamTest : public ::testing::Test {
 protected:
  HttpStreamTest() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::listen(listener_, 4);
    socklen_t length = sizeof sa;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &length);
    address_ = *config::parse_address(testing::loopback_address(ntohs(sa.sin_port))).value;
  }
  ~HttpStreamTest() override {
    if (peer_ >= 0) ::close(peer_);
    ::close(listener_);
  }

  void start(HttpRequest request = {}) {
    HttpHandlers h;
    h.head = [this](const HttpHead& head) {
      status_ = head.status;
      marker_ = head.field("x-marker");
    };
    h.body = [this](std::string_view piece) { pieces_.emplace_back(piece); };
    h.done = [this] { done_ = true; };
    h.error = [this](std::string why) { error_ = std::move(why); };
    stream_.start(address_, std::move(request), std::move(h));
  }
  // Runs the loop until the stream's connection is accepted; returns what it sent.
  std::string accept_request() {
    run_until(
        loop_, [&] { return (peer_ = ::accept(listener_, nullptr, nullptr)) >= 0; },
        milliseconds(2000));
    std::string got;
    run_until(
        loop_,
        [&] {
          char buffer[4096];
          const ssize_t n = ::recv(peer_, buffer, sizeof buffer, MSG_DONTWAIT);
          if (n > 0) got.append(buffer, static_cast<size_t>(n));
          return got.find("\r\n\r\n") != std::string::npos;
        },
        milliseconds(2000));
    return got;
  }
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(peer_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    for (int i = 0; i < 5; ++i) loop_.run_once(milliseconds(10));
  }

  int listener_ = -1;
  int peer_ = -1;
  config::Address address_;
  control::ControlLoop loop_;
  HttpStream stream_{loop_};
  unsigned status_ = 0;
  std::string marker_;
  std::vector<std::string> pieces_;
  bool done_ = false;
  std::string error_;
};

TEST_F(HttpStreamTest, ChunkedBodyArrivesPieceByPiece) {
  HttpRequest request;
  request.method = "POST";
  request.target = "/v3/watch";
  request.body = R"({"create_request":{}})";
  start(request);
  const std::string sent = accept_request();
  EXPECT_THAT(sent, HasSubstr("POST /v3/watch HTTP/1.1\r\n"));
  EXPECT_THAT(sent, HasSubstr("Content-Length: 21\r\n"));
  send("HTTP/1.1 200 OK\r\nX-Marker: m1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab\n\r\n");
  EXPECT_EQ(status_, 200u);
  EXPECT_EQ(marker_, "m1");
  EXPECT_THAT(pieces_, ElementsAre("ab\n"));
  send("2\r\ncd\r\n");
  send("2\r\n\nx\r\n");
  EXPECT_THAT(pieces_, ElementsAre("ab\n", "cd", "\nx"));
  EXPECT_FALSE(done_);
  send("0\r\n\r\n");
  EXPECT_TRUE(done_);
  EXPECT_EQ(error_, "");
  EXPECT_FALSE(stream_.active());
}

TEST_F(HttpStreamTest, MalformedResponseIsAnError) {
  start();
  accept_request();
  send("SMTP ready\r\n\r\n");
  EXPECT_THAT(error_, HasSubstr("malformed response"));
  EXPECT_FALSE(done_);
}

TEST_F(HttpStreamTest, SilenceHitsTheTimeout) {
  HttpRequest request;
  request.timeout = milliseconds(200);
  start(request);
  accept_request();
  ASSERT_TRUE(run_until(
      loop_, [&] { return !error_.empty(); }, milliseconds(2000)));
  EXPECT_THAT(error_, HasSubstr("no response from " + address_.text + " within 200 ms"));
}

TEST_F(HttpStreamTest, ABodyThatStopsShortIsAnError) {
  start();
  accept_request();
  send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  ::close(peer_);
  peer_ = -1;
  ASSERT_TRUE(run_until(
      loop_, [&] { return !error_.empty(); }, milliseconds(2000)));
  EXPECT_THAT(error_, HasSubstr("closed the connection before the response ended"));
  EXPECT_THAT(pieces_, ElementsAre("abc"));
}

TEST_F(HttpStreamTest, RefusedIsReportedFromTheLoop) {
  uint16_t port = 0;
  testing::Socket hold = testing::reserve_refusing_port(&port);
  address_ = *config::parse_address(testing::loopback_address(port)).value;
  start();
  EXPECT_EQ(error_, "");  // never from inside start()
  ASSERT_TRUE(run_until(
      loop_, [&] { return !error_.empty(); }, milliseconds(2000)));
  EXPECT_THAT(error_, HasSubstr("Connection refused"));
}

TEST_F(HttpStreamTest, CloseFromAHandlerStopsEverything) {
  HttpHandlers h;
  h.body = [this](std::string_view piece) {
    pieces_.emplace_back(piece);
    stream_.close();
  };
  h.done = [this] { done_ = true; };
  h.error = [this](std::string why) { error_ = std::move(why); };
  stream_.start(address_, {}, std::move(h));
  accept_request();
  send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
  send("cd");
  EXPECT_THAT(pieces_, ElementsAre("ab"));
  EXPECT_FALSE(done_);
  EXPECT_EQ(error_, "");
}

}  // namespace
}  // namespace sluice::proxy::discovery
