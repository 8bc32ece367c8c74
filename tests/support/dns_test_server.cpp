#include "tests/support/dns_test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace sluice::testing {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

bool bind_to(int fd, uint16_t port) {
  sockaddr_in a = loopback(port);
  return ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

}  // namespace

DnsTestServer::DnsTestServer() {
  // The UDP port picks the number; TCP takes the same one (a retry when it is taken).
  for (int attempt = 0; attempt < 20 && port_ == 0; ++attempt) {
    udp_fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    socklen_t length = sizeof a;
    if (!bind_to(udp_fd_, 0) || ::getsockname(udp_fd_, reinterpret_cast<sockaddr*>(&a), &length))
      throw std::runtime_error("DnsTestServer: cannot bind UDP");
    tcp_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int one = 1;
    ::setsockopt(tcp_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind_to(tcp_fd_, ntohs(a.sin_port)) && ::listen(tcp_fd_, 16) == 0) {
      port_ = ntohs(a.sin_port);
    } else {
      ::close(udp_fd_);
      ::close(tcp_fd_);
    }
  }
  if (port_ == 0) throw std::runtime_error("DnsTestServer: no port free for both UDP and TCP");
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { serve(); });
}

DnsTestServer::~DnsTestServer() {
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
  for (auto& c : connections_) ::close(c.fd);
  ::close(udp_fd_);
  ::close(tcp_fd_);
  ::close(stop_fd_);
}

std::string DnsTestServer::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void DnsTestServer::set(const std::string& name, uint16_t type, std::vector<std::string> records,
                        uint32_t ttl) {
  std::vector<DnsRecordData> data;
  for (const auto& text : records) data.push_back({type, ttl, dns_rdata(type, text)});
  std::lock_guard lock(mutex_);
  table_[lower(name)][type] = std::move(data);
}

void DnsTestServer::remove(const std::string& name) {
  std::lock_guard lock(mutex_);
  table_.erase(lower(name));
}

void DnsTestServer::set_mode(Mode mode) {
  std::lock_guard lock(mutex_);
  mode_ = mode;
}

std::vector<uint8_t> DnsTestServer::respond(std::span<const uint8_t> packet, bool udp) {
  auto query = parse_dns_query(packet);
  if (!query) return {};
  (udp ? udp_queries_ : tcp_queries_)++;
  if (udp) last_udp_had_edns_ = query->edns_size.has_value();
  std::lock_guard lock(mutex_);
  if (mode_ == Mode::silent) return {};
  if (mode_ == Mode::servfail) return encode_dns_response(*query, dns_rcode::servfail, {});
  if (mode_ == Mode::refused) return encode_dns_response(*query, dns_rcode::refused, {});
  auto name = table_.find(query->name);
  if (name == table_.end()) return encode_dns_response(*query, dns_rcode::nxdomain, {});
  auto records = name->second.find(query->type);
  if (records == name->second.end()) return encode_dns_response(*query, dns_rcode::noerror, {});
  auto full = encode_dns_response(*query, dns_rcode::noerror, records->second);
  const size_t limit = std::max<size_t>(512, query->edns_size.value_or(512));
  if (udp && full.size() > limit) return encode_dns_response(*query, dns_rcode::noerror, {}, true);
  return full;
}

void DnsTestServer::read_udp() {
  uint8_t buffer[4096];
  sockaddr_in from{};
  socklen_t length = sizeof from;
  const ssize_t n =
      ::recvfrom(udp_fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
  if (n <= 0) return;
  auto reply = respond({buffer, static_cast<size_t>(n)}, true);
  if (!reply.empty())
    ::sendto(udp_fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), length);
}

bool DnsTestServer::read_tcp(Connection& c) {
  uint8_t buffer[4096];
  const ssize_t n = ::read(c.fd, buffer, sizeof buffer);
  if (n == 0 || (n < 0 && errno != EAGAIN)) return false;
  if (n > 0) c.in.insert(c.in.end(), buffer, buffer + n);
  // Each message is preceded by its length in two bytes (RFC 1035 section 4.2.2).
  while (c.in.size() >= 2) {
    const size_t length = static_cast<size_t>(c.in[0] << 8 | c.in[1]);
    if (c.in.size() < 2 + length) break;
    auto reply = respond({c.in.data() + 2, length}, false);
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<long>(2 + length));
    if (reply.empty()) continue;
    std::vector<uint8_t> framed = {static_cast<uint8_t>(reply.size() >> 8),
                                   static_cast<uint8_t>(reply.size())};
    framed.insert(framed.end(), reply.begin(), reply.end());
    // Small answers to a loopback client: the socket buffer takes them whole.
    if (::send(c.fd, framed.data(), framed.size(), MSG_NOSIGNAL) != ssize_t(framed.size()))
      return false;
  }
  return true;
}

void DnsTestServer::serve() {
  for (;;) {
    std::vector<pollfd> fds = {{stop_fd_, POLLIN, 0}, {udp_fd_, POLLIN, 0}, {tcp_fd_, POLLIN, 0}};
    for (const auto& c : connections_) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) return;
    if (fds[1].revents != 0) read_udp();
    if (fds[2].revents != 0) {
      const int fd = ::accept4(tcp_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) connections_.push_back({fd, {}});
    }
    // Back to front, so closing one does not move those not yet looked at.
    for (size_t i = fds.size(); i-- > 3;) {
      if (fds[i].revents == 0) continue;
      auto& c = connections_[i - 3];
      if (!read_tcp(c)) {
        ::close(c.fd);
        connections_.erase(connections_.begin() + static_cast<long>(i - 3));
      }
    }
  }
}

}  // namespace sluice::testing
