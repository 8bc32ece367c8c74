#include "proxy/control/loop/control_loop.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace sluice::proxy::control {
namespace {

// Edge-triggered, one-shot and exclusive registrations would each break the level-triggered
// contract the handlers are written against, so only these bits are accepted.
constexpr uint32_t kAllowedEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI;

// Ready fds taken per wait; more stay ready (level-triggered) for the next iteration.
constexpr size_t kBatch = 64;

constexpr uint64_t kWakeData = 0;  // serials start at 1

}  // namespace

ControlLoop::ControlLoop() : now_(Clock::now()), ready_(kBatch) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    error_ = "control loop: epoll_create1: " + std::string(std::strerror(errno));
    return;
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    error_ = "control loop: eventfd: " + std::string(std::strerror(errno));
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeData;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    error_ = "control loop: epoll_ctl(eventfd): " + std::string(std::strerror(errno));
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
}

ControlLoop::~ControlLoop() {
  // Emptied before they are destroyed: a handler's captured state may call unwatch() or
  // cancel() from its destructor, which must then find nothing rather than a half-torn map.
  {
    decltype(watches_) watches;
    watches.swap(watches_);
    serial_by_fd_.clear();
    decltype(timers_) timers;
    timers.swap(timers_);
    deadlines_.clear();
    decltype(posted_) posted;
    posted.swap(posted_);
    decltype(remote_) remote;
    {
      std::lock_guard lock(remote_mutex_);  // not held while they are destroyed
      remote.swap(remote_);
    }
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

bool ControlLoop::watch(int fd, uint32_t events, FdHandler handler) {
  if (!ok() || fd < 0 || (events & ~kAllowedEvents) != 0 || serial_by_fd_.contains(fd))
    return false;
  const uint64_t serial = next_serial_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = serial;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  serial_by_fd_.emplace(fd, serial);
  watches_.emplace(serial, Watch{fd, events, std::make_shared<FdHandler>(std::move(handler))});
  return true;
}

bool ControlLoop::modify(int fd, uint32_t events) {
  auto it = serial_by_fd_.find(fd);
  if (it == serial_by_fd_.end() || (events & ~kAllowedEvents) != 0) return false;
  Watch& w = watches_.at(it->second);
  if (w.events == events) return true;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = it->second;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) return false;
  w.events = events;
  return true;
}

void ControlLoop::unwatch(int fd) {
  auto it = serial_by_fd_.find(fd);
  if (it == serial_by_fd_.end()) return;
  // Fails harmlessly (EBADF) when the caller closed the fd first.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  auto w = watches_.find(it->second);
  // Moved out so the handler dies after both maps are consistent again (see ~ControlLoop).
  std::shared_ptr<FdHandler> handler = std::move(w->second.handler);
  watches_.erase(w);
  serial_by_fd_.erase(it);
}

ControlLoop::TimerId ControlLoop::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  return arm(std::max(delay, std::chrono::milliseconds(0)), Clock::duration::zero(), std::move(fn));
}

ControlLoop::TimerId ControlLoop::every(std::chrono::milliseconds period,
                                        std::function<void()> fn) {
  // A zero period would make every iteration due again and starve the fds.
  const auto p = std::max(period, std::chrono::milliseconds(1));
  return arm(p, p, std::move(fn));
}

ControlLoop::TimerId ControlLoop::arm(Clock::duration delay, Clock::duration period,
                                      std::function<void()> fn) {
  const TimerId id = next_timer_++;
  // The real time, not now_: a handler arming a timer late in a long iteration still gets
  // the delay it asked for.
  const Clock::time_point deadline = Clock::now() + delay;
  timers_.emplace(id, Timer{deadline, period, std::move(fn)});
  deadlines_.emplace(deadline, id);
  return id;
}

void ControlLoop::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  deadlines_.erase({it->second.deadline, id});
  std::function<void()> fn = std::move(it->second.fn);  // dies after the erase
  timers_.erase(it);
}

void ControlLoop::post(std::function<void()> fn) {
  posted_.push_back(std::move(fn));
}

void ControlLoop::wake() {
  const uint64_t one = 1;
  // Can only fail with EAGAIN once the counter nears 2^64, when a wake-up is pending anyway.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void ControlLoop::post_from_any_thread(std::function<void()> fn) {
  {
    std::lock_guard lock(remote_mutex_);
    remote_.push_back(std::move(fn));
  }
  wake();
}

size_t ControlLoop::run_once(std::chrono::milliseconds max_wait) {
  now_ = Clock::now();
  size_t ran = run_posted();
  // Work that ran may have changed what the caller loops on (run_until's `done`): look at the
  // fds and timers without waiting, and return.
  const int timeout = ran > 0 ? 0 : wait_ms(max_wait);
  int ready = 0;
  if (epoll_fd_ >= 0) {
    ready = ::epoll_wait(epoll_fd_, ready_.data(), static_cast<int>(ready_.size()), timeout);
    if (ready < 0) ready = 0;  // EINTR: timers and posted work still get their turn
  } else if (timeout > 0) {
    ::poll(nullptr, 0, timeout);  // no epoll: still honour timers and max_wait
  }
  now_ = Clock::now();
  // What other threads posted during the wait: the wake-up that ended it was for this work.
  ran += run_remote();
  ran += dispatch_ready(ready);
  ran += run_due_timers();
  return ran;
}

void ControlLoop::run_until(const std::function<bool()>& done) {
  while (!done()) run_once(std::chrono::milliseconds::max());
}

size_t ControlLoop::run_posted() {
  std::vector<std::function<void()>> local;
  local.swap(posted_);
  // Work these post goes to the next iteration, which then does not wait (wait_ms).
  for (auto& fn : local) fn();
  return local.size() + run_remote();
}

size_t ControlLoop::run_remote() {
  std::vector<std::function<void()>> local;
  {
    std::lock_guard lock(remote_mutex_);
    local.swap(remote_);
  }
  for (auto& fn : local) fn();
  return local.size();
}

size_t ControlLoop::dispatch_ready(int ready) {
  size_t ran = 0;
  for (int i = 0; i < ready; ++i) {
    const epoll_event ev = ready_[static_cast<size_t>(i)];
    if (ev.data.u64 == kWakeData) {
      uint64_t count = 0;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);
      continue;
    }
    // Unwatched by an earlier handler of this batch (perhaps with its fd number reused by
    // a new registration, which has another serial): the event is stale.
    auto it = watches_.find(ev.data.u64);
    if (it == watches_.end()) continue;
    // A modify() earlier in the batch may have dropped interest in what was reported.
    const uint32_t events = ev.events & (it->second.events | EPOLLERR | EPOLLHUP);
    if (events == 0) continue;
    const std::shared_ptr<FdHandler> handler = it->second.handler;
    (*handler)(events);
    ++ran;
  }
  return ran;
}

size_t ControlLoop::run_due_timers() {
  now_ = Clock::now();
  if (deadlines_.empty() || deadlines_.begin()->first > now_) return 0;
  // Fixed before any runs: timers armed by these (even for 0 ms) wait for the next
  // iteration, so a timer re-arming itself cannot keep this one from ending.
  std::vector<TimerId> due;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now_; ++it)
    due.push_back(it->second);
  size_t ran = 0;
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier one
    Timer& timer = it->second;
    deadlines_.erase({timer.deadline, id});
    std::function<void()> fn;
    if (timer.period == Clock::duration::zero()) {
      fn = std::move(timer.fn);
      timers_.erase(it);
    } else {
      timer.deadline += timer.period;
      if (timer.deadline <= now_) timer.deadline = now_ + timer.period;
      deadlines_.emplace(timer.deadline, id);
      fn = timer.fn;  // a copy: the timer may cancel itself while this runs
    }
    fn();
    ++ran;
  }
  return ran;
}

int ControlLoop::wait_ms(std::chrono::milliseconds max_wait) const {
  if (!posted_.empty() || max_wait <= std::chrono::milliseconds(0)) return 0;
  std::chrono::milliseconds wait = max_wait;
  if (!deadlines_.empty()) {
    const auto until = deadlines_.begin()->first - Clock::now();
    if (until <= Clock::duration::zero()) return 0;
    // Rounded up: waking just before a deadline would only make another 0 ms round.
    wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(until));
  }
  return static_cast<int>(std::min<std::chrono::milliseconds::rep>(wait.count(), INT_MAX));
}

}  // namespace sluice::proxy::control
