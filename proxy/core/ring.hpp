// The io_uring ring of one worker thread and the tagging of completion
// user_data. Each Ring belongs to exactly one thread (SINGLE_ISSUER).
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>

namespace sluice::proxy {

// Everything that submits io_uring operations implements this; a completion's
// user_data is the handler's address with the operation kind in the low 4 bits.
// user_data 0 marks completions nobody needs to see (cancels, linked timeouts).
class alignas(16) IoHandler {
 public:
  virtual void on_completion(unsigned op, int result, unsigned flags) = 0;

 protected:
  ~IoHandler() = default;
};

inline uint64_t tag(IoHandler* handler, unsigned op) {
  return reinterpret_cast<uint64_t>(handler) | op;
}

class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  // Must run on the thread that will submit (SINGLE_ISSUER). On failure
  // returns a message that says why io_uring is unusable here.
  std::string init(unsigned entries);

  // Never returns null: when the submission queue is full it submits first.
  io_uring_sqe* sqe();
  io_uring* raw() { return &ring_; }
  const char* mode() const { return mode_; }

  // Asks the kernel to cancel every operation on `fd`; nobody sees the
  // cancel's own completion.
  void cancel_fd(int fd);
  // Cancels the operation(s) tagged `user_data` (a multishot receive, an accept).
  void cancel(uint64_t user_data, bool all = false);

 private:
  io_uring ring_{};
  bool ready_ = false;
  const char* mode_ = "";
};

}  // namespace sluice::proxy
