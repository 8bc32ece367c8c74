// Reading a health probe's response head with Beast's parser (proxy/control/health/
// response_head), fed in pieces as a socket would deliver it.
#include "proxy/control/health/response_head.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy::health {
namespace {

using State = ResponseHead::State;

TEST(ResponseHead, StatusOnceTheHeadIsWholeEvenByteByByte) {
  const std::string response =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy\n";
  ResponseHead head;
  const size_t head_end = response.find("\r\n\r\n") + 4;
  for (size_t i = 0; i + 1 < head_end; ++i)
    ASSERT_EQ(head.feed(response.substr(i, 1)), State::need_more) << i;
  EXPECT_EQ(head.feed(response.substr(head_end - 1)), State::done);
  EXPECT_EQ(head.status(), 503);
}

TEST(ResponseHead, ChunkedAndBodylessResponsesAreFine) {
  ResponseHead chunked;
  EXPECT_EQ(chunked.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello"),
            State::done);
  EXPECT_EQ(chunked.status(), 200);
  ResponseHead old;
  EXPECT_EQ(old.feed("HTTP/1.0 302 Found\r\nLocation: /\r\n\r\n"), State::done);
  EXPECT_EQ(old.status(), 302);
}

TEST(ResponseHead, NotHttpOrCutShortIsAnError) {
  ResponseHead ssh;
  EXPECT_EQ(ssh.feed("SSH-2.0-OpenSSH_9.2\r\n"), State::error);
  EXPECT_NE(ssh.error().find("malformed response"), std::string::npos) << ssh.error();

  ResponseHead cut;
  EXPECT_EQ(cut.feed("HTTP/1.1 200 OK\r\nContent-"), State::need_more);
  EXPECT_EQ(cut.eof(), State::error);
  EXPECT_EQ(cut.error(), "closed before the end of the response head");

  ResponseHead silent;
  EXPECT_EQ(silent.eof(), State::error);
  EXPECT_EQ(silent.error(), "closed without a response");
}

}  // namespace
}  // namespace sluice::proxy::health
