#include "tests/support/backend_http.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>

namespace sluice::testing {

HttpAnswer answer_http(std::string_view in, const std::string& name,
                       const std::string& health_file) {
  HttpAnswer answer;
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return answer;
  const std::string_view head = in.substr(0, head_end);
  const size_t line_end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, line_end);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    answer.consumed = head_end + 4;
    answer.response = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    answer.close = true;
    return answer;
  }
  const std::string_view method = request_line.substr(0, sp1);
  const std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  bool keep_alive = request_line.substr(sp2 + 1) == "HTTP/1.1";
  uint64_t content_length = 0;
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string line(head.substr(pos, eol - pos));
    pos = eol + 2;
    std::transform(line.begin(), line.end(), line.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (line.rfind("content-length:", 0) == 0) {
      content_length = std::strtoull(line.c_str() + 15, nullptr, 10);
    } else if (line.rfind("connection:", 0) == 0) {
      if (line.find("close") != std::string::npos) keep_alive = false;
      if (line.find("keep-alive") != std::string::npos) keep_alive = true;
    }
  }
  const size_t total = head_end + 4 + content_length;
  if (in.size() < total) return answer;  // the body has not all arrived yet

  std::string status_line = "HTTP/1.1 200 OK";
  if (target.rfind("/status/", 0) == 0 && target.size() == 11)  // for health-check tests
    status_line = "HTTP/1.1 " + std::string(target.substr(8)) + " Status";
  if (target == "/health" && !health_file.empty()) {
    std::ifstream health(health_file);
    std::string code;
    if (health >> code && code.size() == 3) status_line = "HTTP/1.1 " + code + " Status";
  }
  answer.response = status_line + "\r\nContent-Type: text/plain\r\nContent-Length: " +
                    std::to_string(name.size() + 9) + "\r\n";
  if (!keep_alive) answer.response += "Connection: close\r\n";
  answer.response += "\r\n";
  if (method != "HEAD") answer.response += "backend " + name + "\n";
  if (target.rfind("/sleep", 0) == 0) {
    const size_t ms = target.find("ms=");
    if (ms != std::string_view::npos)
      answer.sleep_ms = std::atol(std::string(target.substr(ms + 3)).c_str());
  }
  answer.consumed = total;
  answer.close = !keep_alive;
  return answer;
}

}  // namespace sluice::testing
