#include "proxy/l4/tcp_session.hpp"

#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/core/log.hpp"
#include "proxy/upstream/outcome.hpp"
#include "proxy/l7/request_key.hpp"
#include "proxy/core/socket.hpp"
#include "proxy/worker/worker.hpp"

namespace sluice::proxy {
namespace {
void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
__kernel_timespec to_timespec(config::Duration d) {
  __kernel_timespec ts{};
  ts.tv_sec = d.count() / 1000;
  ts.tv_nsec = (d.count() % 1000) * 1000000;
  return ts;
}
}  // namespace

TcpSession::TcpSession(Worker& worker, WorkerListener& listener, int client_fd)
    : worker_(worker), listener_(listener), client_fd_(client_fd) {
  const config::Listener& cfg = *listener.runtime.config;
  attempts_left_ = 1 + cfg.retries.attempts;
  connect_timeout_ = to_timespec(cfg.timeouts.connect);
}

TcpSession::~TcpSession() {
  pipes_[0].release_all(worker_.buffers());
  pipes_[1].release_all(worker_.buffers());
  if (client_fd_ >= 0) ::close(client_fd_);
  if (upstream_fd_ >= 0) ::close(upstream_fd_);
}

void TcpSession::start() {
  started_ns_ = Worker::now_ns();
  if (worker_.access_log_enabled()) {
    // Now: once the peer has gone, getpeername() fails.
    char ip[INET6_ADDRSTRLEN] = "";
    uint16_t port = 0;
    peer_ip(client_fd_, ip, sizeof ip, &port);
    format_address(ip, port, client_address_, sizeof client_address_);
  }
  set_nodelay(client_fd_);
  if (listener_.runtime.cluster->needs_key) {
    char ip[INET6_ADDRSTRLEN] = "";
    peer_ip(client_fd_, ip, sizeof ip);
    key_ = connection_key(ip);
  }
  touch();
  const ClusterRuntime& cluster = *listener_.runtime.cluster;
  if (cluster.limits) {
    connection_permit_ = limiter::ConcurrencyPermit::try_acquire(cluster.limits->connections);
    if (!connection_permit_) {
      LOG_DEBUG("cluster %s: max_connections reached, refusing a connection",
                cluster.config->name.c_str());
      fail("cluster-max-connections");
      return;
    }
  }
  const bool has_breaker = cluster.breaker != nullptr;
  if (!breaker_.begin(cluster, Worker::now_ns())) {
    breaker_outcome_ = access_log::BreakerOutcome::rejected;
    LOG_DEBUG("cluster %s: circuit open, refusing a connection", cluster.config->name.c_str());
    fail("circuit-open");
    return;
  }
  if (has_breaker) breaker_outcome_ = access_log::BreakerOutcome::allowed;
  connect_next();
}

void TcpSession::submit(io_uring_sqe* sqe, unsigned op) {
  io_uring_sqe_set_data64(sqe, tag(this, op));
  ++in_flight_;
}

void TcpSession::touch() {
  listener_.idle_timers.start(idle_timer, worker_.now_ms());
}

void TcpSession::connect_next() {
  const ClusterRuntime& cluster = *listener_.runtime.cluster;
  std::optional<uint32_t> pick = worker_.pick_endpoint(*generation, cluster, key_, tried_);
  if (!pick) {
    if (tried_ != 0) breaker_.failed(Worker::now_ns());
    LOG_WARN("listener %s: no endpoint of cluster %s is available",
             listener_.runtime.config->name.c_str(), cluster.config->name.c_str());
    fail(tried_ != 0 ? "connect-failed" : "no-endpoint");
    return;
  }
  cluster_counters().requests.add();
  if (attempted_) cluster_counters().retries.add();
  attempted_ = true;
  endpoint_ = *pick;
  if (endpoint_ < 64) tried_ |= uint64_t{1} << endpoint_;
  --attempts_left_;
  load_.begin(cluster, endpoint_);
  if (cluster.limits) {
    pending_permit_ = limiter::ConcurrencyPermit::try_acquire(cluster.limits->pending);
    if (!pending_permit_) {
      LOG_DEBUG("cluster %s: max_pending reached, refusing a connection",
                cluster.config->name.c_str());
      breaker_.cancel();
      fail("cluster-max-pending");
      return;
    }
  }
  connect_started_ns_ = Worker::now_ns();

  const config::Address& address = cluster.config->endpoints[endpoint_].address;
  upstream_fd_ = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (upstream_fd_ < 0) {
    LOG_ERROR_THROTTLED("listener %s: cannot create upstream socket: %s",
                        listener_.runtime.config->name.c_str(), std::strerror(errno));
    fail("connect-failed");
    return;
  }
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_connect(sqe, upstream_fd_, address.sockaddr_ptr(), address.length);
  sqe->flags |= IOSQE_IO_LINK;
  submit(sqe, kConnect);
  io_uring_sqe* timeout = worker_.ring().sqe();
  io_uring_prep_link_timeout(timeout, &connect_timeout_, 0);
  io_uring_sqe_set_data64(timeout, 0);
}

void TcpSession::on_connect(int result) {
  pending_permit_.reset();
  if (closing_) return;
  const ClusterRuntime& runtime = *listener_.runtime.cluster;
  report_endpoint(runtime, endpoint_,
                  result < 0 ? EndpointResult::connect_failure : EndpointResult::ok,
                  Worker::now_ns());
  if (result < 0) {
    // A connect cut short by its linked timeout completes with -ECANCELED.
    const char* why = result == -ECANCELED ? "connect timeout" : std::strerror(-result);
    const config::Cluster& cluster = *listener_.runtime.cluster->config;
    LOG_DEBUG("cluster %s: endpoint %s failed: %s", cluster.name.c_str(),
              cluster.endpoints[endpoint_].address.text.c_str(), why);
    ::close(upstream_fd_);
    upstream_fd_ = -1;
    load_.end();
    cluster_counters().connect_failures.add();
    if (attempts_left_ > 0) {
      connect_next();
    } else {
      breaker_.failed(Worker::now_ns());
      LOG_WARN("listener %s: no endpoint of cluster %s accepted the connection (last: %s)",
               listener_.runtime.config->name.c_str(),
               listener_.runtime.cluster->config->name.c_str(), why);
      fail(result == -ECANCELED ? "connect-timeout" : "connect-failed");
    }
    return;
  }
  connected_ = true;
  connect_ns_ = Worker::now_ns() - connect_started_ns_;
  cluster_counters().duration.observe_ns(connect_ns_);  // L4: the connect is the exchange
  cluster_counters().connections_active.add();
  breaker_.succeeded(Worker::now_ns());
  set_nodelay(upstream_fd_);
  const ClusterRuntime& cluster = *listener_.runtime.cluster;
  if (cluster.tracks_latency) {
    // For L4 the connect handshake is the latency sample P2C's EWMA sees.
    const int64_t now = Worker::now_ns();
    balancers::observe_latency(*load_.load(), now - connect_started_ns_, now, cluster.ewma_tau_ns);
  }
  touch();
  arm_receive(0);
  arm_receive(1);
}

void TcpSession::arm_receive(int p) {
  Pipe& pipe = pipes_[p];
  if (closing_ || pipe.receiving || pipe.eof || pipe.waiting_buffers) return;
  io_uring_sqe* sqe = worker_.ring().sqe();
  Pipe::prep_receive(sqe, source_fd(p));
  submit(sqe, p == 0 ? kRecvClient : kRecvUpstream);
  pipe.receiving = true;
}

void TcpSession::pause_receive(int p) {
  Pipe& pipe = pipes_[p];
  if (!pipe.receiving || pipe.pausing) return;
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_cancel64(sqe, tag(this, p == 0 ? kRecvClient : kRecvUpstream), 0);
  io_uring_sqe_set_data64(sqe, 0);
  pipe.pausing = true;
}

void TcpSession::on_receive(int p, int result, unsigned flags) {
  Pipe& pipe = pipes_[p];
  const bool more = flags & IORING_CQE_F_MORE;
  pipe.take_receive(worker_.buffers(), result, flags, !closing_);
  if (result > 0) {
    if (p == 0)
      listener_counters->bytes_received.add(static_cast<uint64_t>(result));
    else
      cluster_counters().bytes_received.add(static_cast<uint64_t>(result));
  }
  if (closing_) return;
  if (result > 0) {
    touch();
    send(p);
    if (pipe.queued_bytes() > Pipe::kHighWater) pause_receive(p);
    // A multishot receive may end on its own (e.g. completion queue overflow).
    if (!more && pipe.queued_bytes() <= Pipe::kHighWater) arm_receive(p);
    return;
  }
  if (result == 0) {
    pipe.eof = true;
    if (pipe.empty() && !pipe.sending) forward_fin(p);
    return;
  }
  switch (-result) {
    case ENOBUFS:  // every receive buffer of this worker is queued somewhere: backpressure
      pipe.waiting_buffers = true;
      worker_.wait_for_buffers(this);
      return;
    case ECANCELED:  // our own pause took effect
      if (pipe.queued_bytes() <= Pipe::kLowWater) arm_receive(p);
      return;
    default:
      LOG_DEBUG("listener %s: %s side receive failed: %s", listener_.runtime.config->name.c_str(),
                p == 0 ? "client" : "upstream", std::strerror(-result));
      abort();
  }
}

void TcpSession::send(int p) {
  Pipe& pipe = pipes_[p];
  if (pipe.sending || pipe.empty()) return;
  msghdr* msg = pipe.prepare_send(worker_.buffers());
  io_uring_sqe* sqe = worker_.ring().sqe();
  if (msg->msg_iovlen == 1) {
    io_uring_prep_send(sqe, dest_fd(p), msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len,
                       MSG_NOSIGNAL);
  } else {
    io_uring_prep_sendmsg(sqe, dest_fd(p), msg, MSG_NOSIGNAL);
  }
  submit(sqe, p == 0 ? kSendUpstream : kSendClient);
  pipe.sending = true;
}

void TcpSession::on_send(int p, int result) {
  Pipe& pipe = pipes_[p];
  pipe.sending = false;
  if (result > 0) {
    if (p == 1)
      listener_counters->bytes_sent.add(static_cast<uint64_t>(result));
    else
      cluster_counters().bytes_sent.add(static_cast<uint64_t>(result));
  }
  if (closing_) return;
  if (result < 0) {
    LOG_DEBUG("listener %s: send to %s failed: %s", listener_.runtime.config->name.c_str(),
              p == 0 ? "upstream" : "client", std::strerror(-result));
    abort();
    return;
  }
  pipe.consume(static_cast<size_t>(result), worker_.buffers());
  touch();
  if (!pipe.empty()) {
    send(p);
  } else if (pipe.eof) {
    forward_fin(p);
  }
  if (!pipe.receiving && pipe.queued_bytes() <= Pipe::kLowWater) arm_receive(p);
}

void TcpSession::forward_fin(int p) {
  Pipe& pipe = pipes_[p];
  if (pipe.shut) return;
  // A synchronous shutdown is one cheap non-blocking syscall per connection.
  ::shutdown(dest_fd(p), SHUT_WR);
  pipe.shut = true;
  finish_if_done();
}

void TcpSession::finish_if_done() {
  if (pipes_[0].done() && pipes_[1].done()) abort();
}

void TcpSession::on_buffers_available() {
  for (int p = 0; p < 2; ++p) {
    if (!pipes_[p].waiting_buffers) continue;
    pipes_[p].waiting_buffers = false;
    if (pipes_[p].queued_bytes() <= Pipe::kLowWater) arm_receive(p);
  }
}

void TcpSession::on_timer(int) {
  LOG_DEBUG("listener %s: connection idle for too long, closing",
            listener_.runtime.config->name.c_str());
  abort();
}

void TcpSession::fail(std::string_view why) {
  if (error_.empty()) error_ = why;
  abort();
}

void TcpSession::abort() {
  if (closing_) return;
  closing_ = true;
  if (connected_) cluster_counters().connections_active.sub();
  log_connection();
  TimerList::stop(idle_timer);
  if (pipes_[0].waiting_buffers || pipes_[1].waiting_buffers) worker_.forget_waiting(this);
  for (int fd : {client_fd_, upstream_fd_}) {
    if (fd < 0) continue;
    io_uring_sqe* sqe = worker_.ring().sqe();
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, 0);
  }
  if (in_flight_ == 0 && !in_callback_) worker_.session_ended(this);
}

void TcpSession::on_completion(unsigned op, int result, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) --in_flight_;
  in_callback_ = true;
  switch (op) {
    case kConnect:
      on_connect(result);
      break;
    case kRecvClient:
      on_receive(0, result, flags);
      break;
    case kRecvUpstream:
      on_receive(1, result, flags);
      break;
    case kSendUpstream:
      on_send(0, result);
      break;
    case kSendClient:
      on_send(1, result);
      break;
  }
  in_callback_ = false;
  if (closing_ && in_flight_ == 0) worker_.session_ended(this);
}

metrics::ClusterCounters& TcpSession::cluster_counters() {
  return listener_.runtime.cluster->stats->per_worker.at(worker_.index());
}

void TcpSession::log_connection() {
  access_log::RecordRing* ring = worker_.access_log_sample(*generation);
  if (ring == nullptr) return;
  access_log::AccessRecord r;
  r.kind = access_log::Kind::tcp;
  r.duration_ns = Worker::now_ns() - started_ns_;
  r.start_unix_ns = Worker::unix_now_ns() - r.duration_ns;
  r.upstream_duration_ns = connect_ns_;
  r.bytes_received = pipes_[0].pushed_total();
  r.bytes_sent = pipes_[1].pushed_total() - pipes_[1].queued_bytes();
  r.breaker = breaker_outcome_;
  r.rate_limit = listener_.runtime.rate_limit != nullptr ? access_log::LimitOutcome::admitted
                                                         : access_log::LimitOutcome::none;
  const ClusterRuntime& cluster = *listener_.runtime.cluster;
  access_log::set(r.client, client_address_);
  access_log::set(r.listener, listener_.runtime.config->name);
  access_log::set(r.route, "");
  access_log::set(r.cluster, cluster.config->name);
  access_log::set(
      r.endpoint,
      attempted_ ? std::string_view(cluster.config->endpoints[endpoint_].address.text) : "");
  access_log::set(r.method, "");
  access_log::set(r.path, "");
  access_log::set(r.request_id, "");
  access_log::set(r.error, error_);
  ring->try_push(r);
}

}  // namespace sluice::proxy
