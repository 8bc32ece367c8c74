// The control thread's loop: one epoll(7) wait over registered file descriptors plus one-shot
// and periodic timers on the steady clock. Admin sockets, the signalfd, file watches, DNS,
// etcd, health probes and the Redis sync all register here, so the control thread has exactly
// one place where it waits and nothing else in it ever blocks.
//
// Threads: every member is for the loop's thread only (the one calling run_once), except
// wake() and post_from_any_thread(), which any thread may call while the loop is alive.
// Constructing the loop on one thread and then handing it to another before the first
// run_once is fine.
//
// Handlers (fd handlers, timers, posted work) run on the loop's thread, one at a time, and
// hold up everything else while they run: they must be quick and must not block. They must
// not throw either: the loop does not catch, and nothing on these paths uses exceptions.
// They may call any member, including unwatching or cancelling themselves. The loop must
// outlive every registration (a class that watches fds unwatches them in its destructor).
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sluice::proxy::control {

class ControlLoop {
 public:
  using Clock = std::chrono::steady_clock;
  // EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP bits as epoll reported them, limited to what
  // the registration currently asks for (EPOLLERR and EPOLLHUP always come through).
  using FdHandler = std::function<void(uint32_t events)>;
  // 0 is never a timer's id, so it can stand for "no timer" (cancel(0) does nothing).
  using TimerId = uint64_t;

  ControlLoop();  // creates the epoll fd and the wake-up eventfd; see ok()
  ~ControlLoop();
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;

  // False when the epoll fd or the eventfd could not be created; error() says why. A loop
  // that is not ok refuses every watch() but still runs timers and posted work.
  bool ok() const { return epoll_fd_ >= 0 && wake_fd_ >= 0; }
  const std::string& error() const { return error_; }

  // Level-triggered interest in `events` (EPOLLIN and/or EPOLLOUT, optionally EPOLLRDHUP or
  // EPOLLPRI; 0 is allowed and still reports EPOLLERR/EPOLLHUP). False when the fd is already
  // watched, the bits are not among those, or epoll refuses the fd (e.g. a regular file).
  // Unwatch an fd before closing it: the registration is what keeps a reused fd number from
  // receiving the old one's events.
  bool watch(int fd, uint32_t events, FdHandler handler);
  bool modify(int fd, uint32_t events);  // false when not watched or refused
  // Forgets the fd; an event of it still pending in the current batch is not delivered.
  // Safe for fds that are not watched. Does not close the fd.
  void unwatch(int fd);
  bool watching(int fd) const { return serial_by_fd_.contains(fd); }

  // Runs `fn` once, in the first run_once that finds `delay` elapsed (0: the next one, which
  // then does not wait). Timers due in the same iteration run in deadline order, ties in the
  // order they were armed.
  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn);
  // Runs `fn` every `period` (at least 1 ms) until cancelled; the first run is one period
  // from now. When the loop falls behind, missed runs are skipped, not made up in a burst.
  TimerId every(std::chrono::milliseconds period, std::function<void()> fn);
  // Disarms the timer; a no-op for unknown, finished or already cancelled ids. A timer due in
  // the current iteration and cancelled by an earlier handler of it does not run.
  void cancel(TimerId id);

  // Runs `fn` at the start of the next run_once, before it waits: work deferred out of a
  // handler (e.g. to destroy what the handler belongs to).
  void post(std::function<void()> fn);

  // Any thread: makes a run_once blocked in its wait return (or the next one not wait).
  void wake();
  // Any thread: queues `fn` for the loop's thread and wakes it. Workers tell the control
  // thread "I adopted config N" this way.
  void post_from_any_thread(std::function<void()> fn);

  // One iteration: runs posted work; waits for fds at most until the earliest timer or
  // `max_wait` (milliseconds::max(): as long as it takes; not at all when posted work ran,
  // so the caller sees its effects at once); runs work other threads posted meanwhile, then
  // the handlers of ready fds, then due timers. Returns how many handlers, timers and
  // posted functions ran.
  size_t run_once(std::chrono::milliseconds max_wait);
  // Iterates until `done()`, which is checked before every iteration. Another thread that
  // changes what `done` reads must call wake() afterwards.
  void run_until(const std::function<bool()>& done);

  // The time this iteration woke up (before the loop first runs: its construction).
  Clock::time_point now() const { return now_; }

 private:
  struct Watch {
    int fd;
    uint32_t events;
    // Shared so a handler that unwatches its own fd is not destroyed while it runs.
    std::shared_ptr<FdHandler> handler;
  };
  struct Timer {
    Clock::time_point deadline;
    Clock::duration period;  // zero for one-shot timers
    std::function<void()> fn;
  };

  TimerId arm(Clock::duration delay, Clock::duration period, std::function<void()> fn);
  size_t run_posted();  // post()ed work, then run_remote()
  size_t run_remote();  // post_from_any_thread() work
  size_t dispatch_ready(int ready);
  size_t run_due_timers();
  int wait_ms(std::chrono::milliseconds max_wait) const;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd; its epoll data is 0, which no registration's serial is
  std::string error_;
  Clock::time_point now_;

  uint64_t next_serial_ = 1;
  std::unordered_map<int, uint64_t> serial_by_fd_;
  std::unordered_map<uint64_t, Watch> watches_;  // by serial, which epoll_event.data carries
  std::vector<epoll_event> ready_;

  TimerId next_timer_ = 1;
  std::unordered_map<TimerId, Timer> timers_;
  std::set<std::pair<Clock::time_point, TimerId>> deadlines_;  // ids break deadline ties

  std::vector<std::function<void()>> posted_;
  std::mutex remote_mutex_;
  std::vector<std::function<void()>> remote_;  // guarded by remote_mutex_
};

}  // namespace sluice::proxy::control
