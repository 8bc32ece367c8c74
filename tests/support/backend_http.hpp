// What sluice-test-backend's http mode answers (backend.cpp does the sockets): one request
// read from the front of the received bytes, and the response to it. Pure; any thread.
//   every request      200 "backend NAME\n" (HEAD: no body)
//   GET /status/NNN    status NNN, same body
//   GET /health        the status written in `health_file` (none, or no file: 200)
//   GET /sleep?ms=N    the same response, to be sent N ms later
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::testing {

struct HttpAnswer {
  size_t consumed = 0;  // bytes of the request (head and body); 0: not all here yet
  std::string response;
  bool close = false;  // close once it is sent (HTTP/1.0, Connection: close, a bad request)
  long sleep_ms = 0;   // send the response this much later
};

HttpAnswer answer_http(std::string_view in, const std::string& name,
                       const std::string& health_file);

}  // namespace sluice::testing
