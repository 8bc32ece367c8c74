#include "proxy/control/admin/message.hpp"

#include <ostream>  // boost/core/detail/string_view.hpp needs it and does not include it

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>

namespace sluice::proxy::admin {

const std::string* AdminRequest::header(std::string_view name) const {
  for (const auto& [n, value] : headers)
    if (boost::beast::iequals(n, name)) return &value;
  return nullptr;
}

std::string serialize_response(const AdminResponse& response, bool head) {
  namespace http = boost::beast::http;
  const int status = response.status;
  const bool bodiless = (status >= 100 && status < 200) || status == 204 || status == 304;
  const std::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  std::string out;
  out.reserve(256 + (head || bodiless ? 0 : response.body.size()));
  out += "HTTP/1.1 " + std::to_string(status) + " ";
  out += reason;
  out += "\r\nContent-Type: " + response.content_type + "\r\n";
  if (!bodiless) out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "Connection: close\r\nCache-Control: no-store\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  if (!head && !bodiless) out += response.body;
  return out;
}

}  // namespace sluice::proxy::admin
