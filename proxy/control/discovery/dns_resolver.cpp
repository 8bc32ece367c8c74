#include "proxy/control/discovery/dns_resolver.hpp"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <sys/time.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

namespace sluice::proxy::discovery {
namespace {

// Required by the c-ares API once per process (a no-op on Linux today, not guaranteed to stay).
void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

// The servers as c-ares takes them: a linked list of families, addresses and ports.
std::vector<ares_addr_port_node> server_list(const std::vector<config::Address>& servers) {
  std::vector<ares_addr_port_node> nodes(servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    auto& node = nodes[i];
    node.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
    node.family = servers[i].family();
    int port = 0;
    if (node.family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(servers[i].sockaddr_ptr());
      std::memcpy(&node.addr.addr6, &a->sin6_addr, sizeof a->sin6_addr);
      port = ntohs(a->sin6_port);
    } else {
      const auto* a = reinterpret_cast<const sockaddr_in*>(servers[i].sockaddr_ptr());
      node.addr.addr4 = a->sin_addr;
      port = ntohs(a->sin_port);
    }
    node.udp_port = node.tcp_port = port;
  }
  return nodes;
}

}  // namespace

DnsResolver::DnsResolver(control::ControlLoop& loop, DnsResolverOptions options) : loop_(loop) {
  init_library_once();
  ares_options o{};
  // NOCHECKRESP: a SERVFAIL or REFUSED reaches the caller as such; c-ares would otherwise
  // move on to the next server and, out of servers, report "could not contact DNS servers",
  // which sends people looking at the network. With several servers, ROTATE starts each
  // question at the next one, so a retry after a server's SERVFAIL asks another.
  o.flags = ARES_FLAG_EDNS | ARES_FLAG_NOCHECKRESP;
  o.ednspsz = 1232;
  o.timeout = static_cast<int>(options.timeout.count());
  o.tries = options.tries;
  o.sock_state_cb = &DnsResolver::on_socket_state;
  o.sock_state_cb_data = this;
  int mask = ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
             ARES_OPT_SOCK_STATE_CB;
  if (options.servers.size() > 1) mask |= ARES_OPT_ROTATE;
  if (int rc = ares_init_options(&channel_, &o, mask); rc != ARES_SUCCESS) {
    error_ = std::string("c-ares: ") + ares_strerror(rc);
    channel_ = nullptr;
    return;
  }
  if (!options.servers.empty()) {
    auto nodes = server_list(options.servers);
    if (int rc = ares_set_servers_ports(channel_, nodes.data()); rc != ARES_SUCCESS) {
      error_ = std::string("c-ares: setting the resolvers: ") + ares_strerror(rc);
      ares_destroy(channel_);
      channel_ = nullptr;
    }
  }
}

DnsResolver::~DnsResolver() {
  loop_.cancel(timer_);
  // Calls on_answer with ARES_EDESTRUCTION for every query in flight (they are dropped) and
  // on_socket_state for every socket it closes (they are unwatched).
  if (channel_ != nullptr) ares_destroy(channel_);
}

void DnsResolver::query(const std::string& name, int type, Callback done) {
  if (channel_ == nullptr) {
    done(ARES_ENOTINITIALIZED, {});
    return;
  }
  auto* arg = new Callback(std::move(done));
  ares_query(channel_, name.c_str(), ns_c_in, type, &DnsResolver::on_answer, arg);
  arm_timer();
}

void DnsResolver::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                            int alen) {
  std::unique_ptr<Callback> done(static_cast<Callback*>(arg));
  if (status == ARES_EDESTRUCTION) return;  // the resolver is going away: nobody is listening
  std::span<const unsigned char> answer;
  if (abuf != nullptr && alen > 0) answer = {abuf, static_cast<size_t>(alen)};
  (*done)(status, answer);
}

void DnsResolver::on_socket_state(void* self_ptr, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<DnsResolver*>(self_ptr);
  control::ControlLoop& loop = self->loop_;
  if (!readable && !writable) {
    loop.unwatch(fd);  // c-ares closes it right after
    return;
  }
  const uint32_t events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  if (loop.watching(fd)) {
    loop.modify(fd, events);
    return;
  }
  loop.watch(fd, events, [self, fd](uint32_t ready) {
    // An error or hang-up is read by c-ares as a failed read, which moves the query on.
    const bool in = (ready & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
    const bool out = (ready & EPOLLOUT) != 0;
    self->process(in ? fd : ARES_SOCKET_BAD, out ? fd : ARES_SOCKET_BAD);
  });
}

void DnsResolver::process(ares_socket_t read_fd, ares_socket_t write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  arm_timer();
}

void DnsResolver::arm_timer() {
  loop_.cancel(timer_);
  timer_ = 0;
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) return;  // nothing in flight
  // Rounded up: a timer that fires before c-ares' deadline would only spin.
  const auto delay = std::chrono::milliseconds(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
  timer_ = loop_.after(delay, [this] {
    timer_ = 0;
    process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retransmits or times queries out
  });
}

}  // namespace sluice::proxy::discovery
