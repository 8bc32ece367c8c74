#include "proxy/control/redis_driver.hpp"

namespace sluice::proxy {
namespace {

limiter::Nanos now_ns(control::ControlLoop::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

RedisDriver::RedisDriver(control::ControlLoop& loop, limiter::RedisSync& sync,
                         std::chrono::milliseconds interval)
    : loop_(loop), sync_(sync) {
  timer_ = loop_.every(interval, [this] { tick(); });
  loop_.post([this] { tick(); });  // the first leases now, not one interval from now
}

RedisDriver::~RedisDriver() {
  loop_.cancel(timer_);
  if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
}

void RedisDriver::tick() {
  sync_.tick(now_ns(control::ControlLoop::Clock::now()));
  refresh();
}

void RedisDriver::on_io(uint32_t events) {
  const bool writable = (events & EPOLLOUT) != 0;
  const bool readable = (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
  sync_.on_io(readable, writable, now_ns(control::ControlLoop::Clock::now()));
  refresh();
}

void RedisDriver::refresh() {
  const int fd = sync_.fd();
  const bool write = sync_.wants_write();
  // A reconnect may reuse the fd number: the serial tells a new socket from the old.
  if (fd != watched_fd_ || sync_.connection_serial() != watched_serial_) {
    if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
    watched_fd_ = -1;
    if (fd >= 0 && loop_.watch(fd, EPOLLIN | (write ? EPOLLOUT : 0u),
                               [this](uint32_t events) { on_io(events); })) {
      watched_fd_ = fd;
      watched_serial_ = sync_.connection_serial();
      watched_write_ = write;
    }
    return;
  }
  if (fd >= 0 && write != watched_write_ && loop_.modify(fd, EPOLLIN | (write ? EPOLLOUT : 0u)))
    watched_write_ = write;
}

}  // namespace sluice::proxy
