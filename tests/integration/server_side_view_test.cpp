// server_side_view, which a test prints when sluice gives it no answer: it must tell a
// connection the server never accepted from one it accepted and never read, or CI's output
// says nothing about where a request stopped.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/support/socket.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";  // 27 bytes

// Polls until the view mentions `what` (loopback delivers at once, but not synchronously).
std::string view_once_it_says(const Socket& client, const std::string& what) {
  std::string view;
  for (int i = 0; i < 100; ++i) {
    view = server_side_view(client);
    if (view.find(what) != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  return view;
}

TEST(ServerSideView, TellsAConnectionNobodyAcceptedFromOneNobodyRead) {
  Socket listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener.fd(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener.fd(), 8), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(listener.fd(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string port = std::to_string(ntohs(address.sin_port));

  Socket client = connect_loopback(ntohs(address.sin_port), 2000ms);
  ASSERT_TRUE(client.valid());
  ASSERT_TRUE(send_all(client, kRequest, 1000ms));
  std::string view = view_once_it_says(client, "27 bytes unread");
  EXPECT_NE(view.find("the listener on :" + port + " has 1 connection waiting to be accepted"),
            std::string::npos)
      << view;
  EXPECT_NE(view.find("not accepted by any process, 27 bytes unread, ESTABLISHED"),
            std::string::npos)
      << view;

  Socket accepted(accept(listener.fd(), nullptr, nullptr));
  ASSERT_TRUE(accepted.valid());
  view = view_once_it_says(client, "0 connections waiting");
  EXPECT_NE(view.find("has 0 connections waiting to be accepted"), std::string::npos) << view;
  EXPECT_NE(view.find("the server's end of this one: accepted, 27 bytes unread"), std::string::npos)
      << view;
}

}  // namespace
}  // namespace sluice::testing
