// sluice-fake-consul: a stand-in for a Consul agent's health API, for the Consul discovery
// source's tests (Consul is not in Debian). It follows Consul's documented blocking-query
// behaviour, not its implementation:
//
//   GET /v1/health/service/NAME[?passing][&index=I][&wait=Ns][&tag=T][&dc=D]
//     the instances registered under NAME (only those whose checks all pass with `passing`,
//     only those tagged T with `tag`), with X-Consul-Index. With index=I > 0, the answer
//     waits while the store's index is still <= I, up to `wait` (default 5m, at most 10m).
//     dc other than dc1: HTTP 500 "No path to datacenter".
//
// and a control API for the tests:
//   PUT /fake/service/NAME   body: the JSON list Consul would answer (Node, Service, Checks);
//                            the index goes up by one and every waiting query wakes
//   PUT /fake/index          body: N; the index becomes N (also lower: a restored snapshot)
//                            and every waiting query wakes
//   GET /fake/queries        the targets of the /v1/ requests so far, one per line
//
//   sluice-fake-consul [--listen 127.0.0.1:0]     prints "listening <port>" once bound
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  std::string in;
  http::request_parser<http::string_body> parser;
  bool waiting = false;  // a blocking query, answered at `deadline` or on a change
  Clock::time_point deadline;
  std::string target;  // of the waiting query
};

struct Store {
  uint64_t index = 1;
  std::map<std::string, json::array> services;
  std::vector<std::string> queries;
};

std::map<std::string, std::string> query_params(const std::string& target) {
  std::map<std::string, std::string> out;
  const size_t q = target.find('?');
  if (q == std::string::npos) return out;
  size_t at = q + 1;
  while (at <= target.size()) {
    size_t end = target.find('&', at);
    if (end == std::string::npos) end = target.size();
    const std::string pair = target.substr(at, end - at);
    const size_t eq = pair.find('=');
    if (!pair.empty()) out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
    at = end + 1;
  }
  return out;
}

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

void respond(Connection& c, unsigned status, const std::string& body, uint64_t index = 0) {
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Error") +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n";
  if (index) out += "X-Consul-Index: " + std::to_string(index) + "\r\n";
  out += "Connection: close\r\n\r\n" + body;
  for (size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(c.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::close(c.fd);
  c.fd = -1;
}

bool all_passing(const json::value& entry) {
  const json::value* checks = entry.as_object().if_contains("Checks");
  if (!checks || !checks->is_array()) return true;
  for (const auto& check : checks->as_array())
    if (check.as_object().at("Status").as_string() != "passing") return false;
  return true;
}

bool tagged(const json::value& entry, const std::string& tag) {
  const json::value* tags = entry.at("Service").as_object().if_contains("Tags");
  if (!tags || !tags->is_array()) return false;
  for (const auto& t : tags->as_array())
    if (t.as_string() == tag) return true;
  return false;
}

void answer_health(Connection& c, const Store& store) {
  const auto params = query_params(c.target);
  if (params.contains("dc") && params.at("dc") != "dc1")
    return respond(c, 500, "No path to datacenter");
  const std::string name = path_of(c.target).substr(std::strlen("/v1/health/service/"));
  json::array out;
  if (auto it = store.services.find(name); it != store.services.end())
    for (const auto& entry : it->second)
      if ((!params.contains("passing") || all_passing(entry)) &&
          (!params.contains("tag") || tagged(entry, params.at("tag"))))
        out.push_back(entry);
  respond(c, 200, json::serialize(out), store.index);
}

// Starts answering a complete request: at once, or later for a blocking query.
void handle(Connection& c, Store& store, std::vector<std::unique_ptr<Connection>>& all) {
  const auto& request = c.parser.get();
  c.target = std::string(request.target());
  const std::string path = path_of(c.target);
  const auto wake_all = [&] {
    for (auto& other : all)
      if (other->fd >= 0 && other->waiting) {
        other->waiting = false;
        answer_health(*other, store);
      }
  };
  if (path.starts_with("/v1/health/service/")) {
    store.queries.push_back(c.target);
    const auto params = query_params(c.target);
    const uint64_t index = params.contains("index") ? std::stoull(params.at("index")) : 0;
    if (index == 0 || store.index > index) return answer_health(c, store);
    long wait_s = 300;
    if (params.contains("wait")) wait_s = std::stol(params.at("wait"));
    c.waiting = true;
    c.deadline = Clock::now() + std::chrono::seconds(std::min(wait_s, 600L));
    return;
  }
  if (path.starts_with("/fake/service/") && request.method() == http::verb::put) {
    store.services[path.substr(std::strlen("/fake/service/"))] =
        json::parse(request.body()).as_array();
    ++store.index;
    respond(c, 200, "{}");
    return wake_all();
  }
  if (path == "/fake/index" && request.method() == http::verb::put) {
    store.index = std::stoull(request.body());
    respond(c, 200, "{}");
    return wake_all();
  }
  if (path == "/fake/queries") {
    std::string body;
    for (const auto& q : store.queries) body += q + "\n";
    return respond(c, 200, body);
  }
  respond(c, 404, "unknown path " + path);
}

int listen_on(const std::string& address) {
  const size_t colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 128) != 0) {
    std::perror("fake consul: bind/listen");
    std::exit(1);
  }
  socklen_t length = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &length);
  std::printf("listening %u\n", ntohs(sa.sin_port));
  std::fflush(stdout);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1:0";
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--listen") address = argv[i + 1];
  const int listener = listen_on(address);
  Store store;
  std::vector<std::unique_ptr<Connection>> connections;
  for (;;) {
    std::vector<pollfd> fds{{listener, POLLIN, 0}};
    for (const auto& c : connections) fds.push_back({c->fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 20);
    if (fds[0].revents & POLLIN) {
      auto c = std::make_unique<Connection>();
      c->fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      c->parser.eager(true);
      if (c->fd >= 0) connections.push_back(std::move(c));
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      Connection& c = *connections[i - 1];
      if (c.fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[16384];
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n <= 0) {  // the client went away (a waiting query it gave up on)
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      if (c.waiting) continue;  // one request per connection
      c.in.append(buffer, static_cast<size_t>(n));
      boost::beast::error_code ec;
      while (!c.in.empty() && !c.parser.is_done()) {
        const size_t used = c.parser.put(boost::asio::buffer(c.in), ec);
        c.in.erase(0, used);
        if (ec || used == 0) break;
      }
      if (ec && ec != http::error::need_more) {
        respond(c, 400, ec.message());
      } else if (c.parser.is_done()) {
        handle(c, store, connections);
      }
    }
    const auto now = Clock::now();
    for (auto& c : connections)
      if (c->fd >= 0 && c->waiting && now >= c->deadline) {
        c->waiting = false;
        answer_health(*c, store);
      }
    std::erase_if(connections, [](const auto& c) { return c->fd < 0; });
  }
}
