#include "tests/control/discovery/blocking_http.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "tests/support/socket.hpp"

namespace sluice::testing {

HttpAnswer http_call(uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body) {
  Socket s = connect_loopback(port, Millis(2000));
  if (!s.valid()) return {};
  const std::string request = method + " " + target +
                              " HTTP/1.1\r\nHost: " + loopback_address(port) +
                              "\r\nConnection: close\r\nContent-Type: application/json\r\n"
                              "Content-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  if (!send_all(s, request, Millis(2000))) return {};
  const ReceiveResult got = recv_until_eof(s, Millis(5000));
  // Beast parses the answer (small ones arrive chunked too).
  namespace http = boost::beast::http;
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = 0;
  while (!ec && used < got.data.size() && !parser.is_done())
    used += parser.put(boost::asio::buffer(got.data.data() + used, got.data.size() - used), ec);
  if (!parser.is_done()) parser.put_eof(ec);
  if (!parser.is_done()) return {};
  return {parser.get().result_int(), parser.get().body()};
}

}  // namespace sluice::testing
