#include "proxy/control/redis_driver.hpp"

#include <utility>

#include "proxy/core/log.hpp"

namespace sluice::proxy {
namespace {

limiter::Nanos now_ns(control::ControlLoop::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

RedisDriver::RedisDriver(control::ControlLoop& loop, limiter::RedisSync& sync,
                         std::chrono::milliseconds interval, std::string address)
    : loop_(loop), sync_(sync), address_(std::move(address)) {
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
  observe_health();
}

std::optional<bool> RedisDriver::up() const {
  if (health_ == Health::unknown) return std::nullopt;
  return health_ == Health::up;
}

void RedisDriver::observe_health() {
  const limiter::RedisSyncStats& s = sync_.stats();
  const auto now = control::ControlLoop::Clock::now();
  const bool failed = s.errors > errors_seen_;
  errors_seen_ = s.errors;
  auto seconds = [&](control::ControlLoop::Clock::time_point since) {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::seconds>(now - since).count());
  };
  if (s.connected && !failed) {
    if (health_ == Health::down) {
      LOG_INFO("redis %s: reachable again after %lld s (%llu failed attempts)", address_.c_str(),
               seconds(down_since_), static_cast<unsigned long long>(s.errors - errors_at_down_));
    } else if (health_ == Health::unknown) {
      LOG_INFO("redis %s: connected", address_.c_str());
    }
    health_ = Health::up;
    return;
  }
  if (!failed) {
    if (health_ == Health::down && now - reminded_ >= kReminder) {
      reminded_ = now;
      LOG_WARN("redis %s: still unreachable after %lld s (%llu failed attempts; last: %s)",
               address_.c_str(), seconds(down_since_),
               static_cast<unsigned long long>(s.errors - errors_at_down_), s.last_error.c_str());
    }
    return;
  }
  if (health_ == Health::down) return;  // another failed attempt: said already
  health_ = Health::down;
  down_since_ = reminded_ = now;
  errors_at_down_ = s.errors - 1;
  LOG_WARN(
      "redis %s: unreachable (%s); global rate limits decide by their on_error until it "
      "answers",
      address_.c_str(), s.last_error.c_str());
}

void RedisDriver::on_io(uint32_t events) {
  const bool writable = (events & EPOLLOUT) != 0;
  const bool readable = (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
  sync_.on_io(readable, writable, now_ns(control::ControlLoop::Clock::now()));
  refresh();
  observe_health();
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
